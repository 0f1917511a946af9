/**
 * Bounded input, as an attacker tries to crash the server: bodies and documents nested thousands
 * of levels deep (which overflow the stack of JSON.stringify or structuredClone), partial updates
 * that nest or grow an activity past its limits, deep user and collection data. Each is a 400
 * naming the limit, never a 500, and the server keeps answering. The embedded client is bounded
 * by the same engine checks.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, StreamClient } from 'getstream'
import { MAX_BODY_DEPTH, MAX_DEPTH } from '../../src/engine/bounds.js'
import { idToSk } from '../../src/engine/ids.js'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import type { Store } from '../../src/store/store.js'
import { startStreamServer } from '../fixtures/stream-server.js'
import { must } from '../helpers.js'

const KEY = 'bounds-key'
const SECRET = 'bounds-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** Stream's error body, as the client's error and the wire carry it. */
interface StreamError {
  status_code?: number
  code?: number
  exception?: string
  detail?: string
  exception_fields?: Record<string, unknown>
}

/** An activity without an actor, as these requests send it (getstream's typings require one). */
function noActor(activity: { verb: string; object: string; extra?: unknown }): NewActivity {
  return activity as NewActivity
}

/** `levels` nested lists: `[[...[]...]]`; a document holding it as a field nests one level more. */
function nested(levels: number): unknown {
  let value: unknown = []
  for (let i = 1; i < levels; i++) value = [value]
  return value
}

/** Asserts Stream's 400 InputException whose detail matches `detail`. */
async function refused(promise: Promise<unknown>, detail: RegExp, field?: string): Promise<void> {
  await assert.rejects(promise, (e: { error?: StreamError }) => {
    assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
    assert.equal(e.error?.code, 4)
    assert.equal(e.error?.exception, 'InputException')
    assert.match(String(e.error?.detail), detail)
    if (field !== undefined) assert.ok(e.error?.exception_fields?.[field], JSON.stringify(e.error))
    return true
  })
}

describe('nesting and size bounds over HTTP', () => {
  let client: EddyClient
  let store: Store
  let app: FastifyInstance
  let base: string
  let mallory: Api
  let malloryToken: string
  let post: { id: string }

  before(async () => {
    store = openSqliteStore(':memory:')
    client = connect({ store })
    const started = await startStreamServer(KEY, SECRET, { client })
    app = started.app
    base = started.base
    malloryToken = started.token('mallory')
    mallory = started.user('mallory')
    post = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'post', object: 'o:1' }))
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  /** Raw POST as mallory; resolves with status and parsed body. */
  async function post_(path: string, body: string): Promise<{ status: number; body: StreamError }> {
    const res = await fetch(`${base}v1.0/${path}?api_key=${KEY}`, {
      method: 'POST',
      headers: { authorization: malloryToken, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body,
    })
    return { status: res.status, body: (await res.json()) as StreamError }
  }

  async function stillServing(): Promise<void> {
    assert.equal((await fetch(`${base.replace('/api/', '')}/health`)).status, 200)
    const page = await mallory.feed('user', 'mallory').get()
    assert.ok(page.results.some((a: { id: string }) => a.id === post.id))
  }

  it('answers a 4,000-level activity with 400, through raw HTTP and the official client', async () => {
    const text = JSON.stringify({ actor: 'SU:mallory', verb: 'v', object: 'o', x: nested(4_000) })
    const res = await post_('feed/user/mallory/', text)
    assert.equal(res.status, 400)
    assert.equal(res.body.exception, 'InputException')
    assert.equal(res.body.code, 4)
    assert.match(
      res.body.detail ?? '',
      new RegExp(`the body may nest objects and lists at most ${MAX_BODY_DEPTH} levels deep`),
    )
    // Far deeper than any stack, as raw text (2 bytes a level, under the 2 MiB body limit).
    const deeper = `{"actor":"SU:mallory","verb":"v","object":"o","x":${'['.repeat(500_000)}${']'.repeat(500_000)}}`
    assert.equal((await post_('feed/user/mallory/', deeper)).status, 400)
    // The official client itself recurses over what it sends, so 1,000 levels is as deep as it goes.
    await refused(
      mallory
        .feed('user', 'mallory')
        .addActivity(noActor({ verb: 'post', object: 'o:2', extra: nested(1_000) })),
      new RegExp(`the body may nest objects and lists at most ${MAX_BODY_DEPTH} levels deep`),
      'body',
    )
    await stillServing()
  })

  it('answers a 4,000-level partial update with 400, not 500', async () => {
    await refused(
      mallory.activityPartialUpdate({ id: post.id, set: { extra: nested(4_000) } }),
      /at most \d+ levels deep/,
    )
    const text = JSON.stringify({ changes: [{ id: post.id, set: { extra: nested(4_000) } }] })
    assert.equal((await post_('activity/', text)).status, 400)
    await stillServing()
  })

  it(`allows an activity ${MAX_DEPTH} levels deep and refuses one level more, naming the limit`, async () => {
    // The activity is level 1, so a field holding MAX_DEPTH - 1 levels reaches the limit exactly.
    const ok = await mallory
      .feed('user', 'mallory')
      .addActivity(noActor({ verb: 'post', object: 'o:3', extra: nested(MAX_DEPTH - 1) }))
    assert.deepEqual(ok.extra, nested(MAX_DEPTH - 1))
    await refused(
      mallory
        .feed('user', 'mallory')
        .addActivity(noActor({ verb: 'post', object: 'o:4', extra: nested(MAX_DEPTH) })),
      new RegExp(
        `an activity may nest objects and lists at most ${MAX_DEPTH} levels deep, got "more than ${MAX_DEPTH} levels"`,
      ),
      'activity',
    )
  })

  it('bounds what a partial update sets: depth, path length and the 10 KB activity size', async () => {
    const updated = await mallory.activityPartialUpdate({
      id: post.id,
      set: { 'a.b': nested(MAX_DEPTH - 2) },
    })
    assert.deepEqual(updated.a, { b: nested(MAX_DEPTH - 2) })
    await refused(
      mallory.activityPartialUpdate({ id: post.id, set: { 'a.b': nested(MAX_DEPTH - 1) } }),
      /the value set at "a\.b" may nest objects and lists at most 62 levels deep/,
      'set',
    )
    const longPath = Array.from({ length: MAX_DEPTH }, () => 'k').join('.')
    await refused(
      mallory.activityPartialUpdate({ id: post.id, set: { [longPath]: 1 } }),
      new RegExp(`set paths may have at most ${MAX_DEPTH - 1} segments`),
      'set',
    )
    // Growing past the size limit is refused, one field at a time or in one go.
    await mallory.activityPartialUpdate({ id: post.id, set: { text1: 'x'.repeat(5_000) } })
    await refused(
      mallory.activityPartialUpdate({ id: post.id, set: { text2: 'y'.repeat(5_500) } }),
      /an activity must be at most 10240 bytes of JSON, got "\d+ bytes"/,
      'activity',
    )
    const [stored] = (await mallory.getActivities({ ids: [post.id] })).results
    assert.equal(stored.text1, 'x'.repeat(5_000))
    assert.equal(stored.text2, undefined)
  })

  it('bounds user and collection data', async () => {
    await refused(
      mallory.user('mallory').create({ profile: nested(MAX_DEPTH) }),
      new RegExp(`data may nest objects and lists at most ${MAX_DEPTH} levels deep`),
      'data',
    )
    await refused(
      mallory.collections.add('notes', null, { body: nested(MAX_DEPTH) }),
      new RegExp(`data may nest objects and lists at most ${MAX_DEPTH} levels deep`),
      'data',
    )
    const res = await post_('user/', JSON.stringify({ id: 'mallory', data: { p: nested(4_000) } }))
    assert.equal(res.status, 400)
    const user = await mallory.user('mallory').create({ profile: nested(MAX_DEPTH - 1) })
    assert.deepEqual(user.data?.profile, nested(MAX_DEPTH - 1))
    await stillServing()
  })

  it('refuses a partial update of an activity stored too deep by an older version', async () => {
    // Before depth bounds, 4,000 levels of `[]` fit in 10 KB: write such a body directly.
    const legacy = await mallory
      .feed('user', 'mallory')
      .addActivity(noActor({ verb: 'post', object: 'o:legacy' }))
    const sk = must(idToSk(legacy.id), 'the sort key of the legacy activity')
    const row = must((await store.activities.getActivities([sk])).get(sk), 'the stored legacy row')
    const body = `${row.body.slice(0, -1)},"old":${JSON.stringify(nested(4_000))}}`
    await store.write({ activities: [{ sk, body, foreignId: legacy.foreign_id }] })
    await refused(
      mallory.activityPartialUpdate({ id: legacy.id, set: { note: 'hi' } }),
      new RegExp(`an activity may nest objects and lists at most ${MAX_DEPTH} levels deep`),
      'activity',
    )
    await stillServing()
  })
})

describe('nesting bounds of the embedded client', () => {
  let client: EddyClient
  before(() => {
    client = connect({ store: 'memory' })
  })
  after(() => client.close())

  async function rejectsInput(promise: Promise<unknown>, detail: RegExp): Promise<void> {
    await assert.rejects(promise, (e: { exception?: string; status_code?: number; detail?: string }) => {
      assert.equal(e.exception, 'InputException', String(e))
      assert.equal(e.status_code, 400)
      assert.match(String(e.detail), detail)
      return true
    })
  }

  it('refuses deep, cyclic and exponentially shared values without overflowing the stack', async () => {
    const feed = client.feed('user', 'alice')
    await rejectsInput(
      feed.addActivity({ actor: 'a', verb: 'v', object: 'o', x: nested(4_000) }),
      /levels deep/,
    )
    await rejectsInput(
      feed.addActivities([{ actor: 'a', verb: 'v', object: 'o', x: nested(100_000) }]),
      /levels deep/,
    )
    await rejectsInput(
      client.addToMany({ actor: 'a', verb: 'v', object: 'o', x: nested(4_000) }, ['user:bob']),
      /levels deep/,
    )
    const cycle: Record<string, unknown> = { name: 'loop' }
    cycle.self = cycle
    await rejectsInput(feed.addActivity({ actor: 'a', verb: 'v', object: 'o', cycle }), /levels deep/)
    // 60 levels, each holding the next one twice: 2^60 paths for a naive walk, a few dozen objects.
    let shared: unknown = {}
    for (let i = 0; i < 60; i++) shared = { left: shared, right: shared }
    await rejectsInput(
      feed.addActivity({ actor: 'a', verb: 'v', object: 'o', shared }),
      /at most 10240 values/,
    )

    // Deep values where a scalar or object is expected: the error describes them instead of echoing.
    const deep = nested(100_000) as never
    await rejectsInput(
      feed.addActivity(deep),
      /an activity must be an object.*got a value nested too deep to show/,
    )
    await rejectsInput(feed.addActivities([deep]), /got a value nested too deep to show/)
    await rejectsInput(client.addToMany({ actor: 'a', verb: 'v', object: 'o' }, [deep]), /too deep to show/)
    await rejectsInput(feed.addActivity({ actor: deep, verb: 'v', object: 'o' }), /actor is required/)

    const added = await feed.addActivity({ actor: 'a', verb: 'v', object: 'o' })
    await rejectsInput(
      client.activityPartialUpdate({ id: added.id, set: { x: nested(4_000) } }),
      /levels deep/,
    )
    await rejectsInput(client.activityPartialUpdate({ id: added.id, set: { x: cycle } }), /levels deep/)
    await rejectsInput(
      client.activityPartialUpdate({ id: added.id, set: { x: shared } }),
      /at most 10240 values/,
    )
    await rejectsInput(
      client.updateActivities([
        { actor: 'a', verb: 'v', object: 'o', foreign_id: 'f', time: added.time, x: cycle },
      ]),
      /levels deep/,
    )
    const page = await feed.get()
    assert.deepEqual(
      page.results.map((a) => a.id),
      [added.id],
    )
  })
})
