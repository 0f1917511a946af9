/** stream-django's test_template_tag.py (tests 22-29), ported to LiquidJS, plus aggregated selection and policies. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { activityTemplateName, EnrichedActivity } from '../src/django/index.js'
import {
  createLiquid,
  MissingDataError,
  TemplateNotFoundError,
  unwrapRenderError,
} from '../src/django/liquid/index.js'

const root = fileURLToPath(new URL('./fixtures/integration/templates/', import.meta.url))
const warnings: string[] = []
const liquid = createLiquid({ root: [root] }, { warn: (m) => warnings.push(m) })

const LOOP =
  '{% for activity in activities %}{% render_activity activity template_prefix: prefix, missing_data_policy: policy %}{% endfor %}'

function missing(): EnrichedActivity {
  const a = new EnrichedActivity({ id: '123' })
  a.trackNotEnrichedField('object', 'Pin:1')
  return a
}

function render(activities: unknown[], policy = 'warn', prefix = '') {
  return liquid.parseAndRender(LOOP, { activities, policy, prefix })
}

async function renderError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return unwrapRenderError(error)
  }
  assert.fail('expected rendering to fail')
}

describe('render_activity (test_template_tag.py)', () => {
  it('22. no activities → blank output', async () => {
    assert.equal((await render([])).trim(), '')
  })
  it('23. default policy on a not-enriched activity → blank (and a warning)', async () => {
    warnings.length = 0
    const out = await liquid.parseAndRender('{% render_activity activity %}', { activity: missing() })
    assert.equal(out.trim(), '')
    assert.match(warnings[0], /could not enrich field\(s\) \{"object":"Pin:1"\} for activity #123/)
  })
  it('24. warn → blank', async () => {
    assert.equal((await render([missing()], 'warn')).trim(), '')
  })
  it('25. fail → MissingDataError escapes rendering', async () => {
    const error = await renderError(render([missing()], 'fail'))
    assert.ok(error instanceof MissingDataError)
    assert.deepEqual((error as MissingDataError).notEnrichedData, { object: 'Pin:1' })
  })
  it('26. ignore → blank', async () => {
    warnings.length = 0
    assert.equal((await render([missing()], 'ignore')).trim(), '')
    assert.equal(warnings.length, 0)
  })
  it('27. a missing template is an error naming the file', async () => {
    const error = await renderError(render([{ verb: 'thisone' }]))
    assert.ok(error instanceof TemplateNotFoundError)
    assert.match((error as Error).message, /activity\/thisone\.liquid/)
  })
  it('28. the prefix is part of the name', async () => {
    const error = await renderError(render([{ verb: 'thisone' }], 'warn', 'prependto'))
    assert.match((error as Error).message, /activity\/prependto_thisone\.liquid/)
  })
  it('29. renders activity/tweet.liquid', async () => {
    assert.equal((await render([{ verb: 'tweet' }])).trim(), '')
  })
})

describe('render_activity: what stream-django left untested', () => {
  it('positional prefix, and the template sees the whole context plus activity', async () => {
    const out = await liquid.parseAndRender("{% render_activity activity 'homepage' %}|{{ activity }}", {
      activity: { verb: 'tweet', actor: 'tommaso' },
      viewer: 'ann',
    })
    assert.ok(out.startsWith('tweet by tommaso for ann|'))
  })
  it('does not leak `activity` into the caller context', async () => {
    const out = await liquid.parseAndRender("{% render_activity a 'homepage' %}-{{ activity.verb }}-", {
      a: { verb: 'tweet', actor: 'x' },
      viewer: 'v',
    })
    assert.equal(out, 'tweet by x for v--')
  })
  it('aggregated groups pick activity/aggregated/<verb> and can render their first activity', async () => {
    const group = {
      verb: 'like',
      activity_count: 2,
      activities: [{ verb: 'like', object: { message: 'hi' } }],
    }
    const out = await liquid.parseAndRender('{% render_activity group %}', { group })
    assert.equal(out, '2 likes: [like hi]')
  })
  it('an invalid policy is a TypeError (only when the activity is not enriched)', async () => {
    const error = await renderError(render([missing()], 'explode'))
    assert.ok(error instanceof TypeError)
    assert.match((error as Error).message, /explode is not a valid missing_data_policy/)
    assert.equal((await render([{ verb: 'tweet' }], 'explode')).trim(), '')
  })
  it('Django-style keyword syntax works too', async () => {
    const error = await renderError(
      liquid.parseAndRender("{% render_activity activity template_prefix='x' missing_data_policy='fail' %}", {
        activity: missing(),
      }),
    )
    assert.ok(error instanceof MissingDataError)
  })
})

describe('activityTemplateName (engine-neutral)', () => {
  it('resolves names as stream-django does', () => {
    assert.equal(activityTemplateName({ verb: 'tweet' }), 'activity/tweet')
    assert.equal(activityTemplateName({ verb: 'tweet' }, 'homepage'), 'activity/homepage_tweet')
    assert.equal(
      activityTemplateName({ verb: 'like', activities: [] }, 'homepage', '.njk'),
      'activity/aggregated/homepage_like.njk',
    )
    assert.throws(() => activityTemplateName({}), /no verb/)
  })
})
