/**
 * Ownership, as an attacker with an ordinary user token would try it through the official client:
 * overwriting someone else's activity by re-adding its foreign_id + time, re-targeting or updating
 * someone else's activity, and spoofing the actor. A server token keeps full rights.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, StreamClient } from 'getstream'
import { forbidden } from '../fixtures/attack.js'
import { type StreamServer, startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'own-key'
const SECRET = 'own-secret'
const T = '2026-11-20T12:00:00.000000'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

/** A flat activity, or a group of them, as a page shows it. */
interface Shown {
  text?: string
  activities?: { text?: string }[]
}

describe('a user token cannot change what it does not own', () => {
  let app: FastifyInstance
  let api: Api
  let alice: Api
  let mallory: Api
  let started: StreamServer
  let post: { id: string }

  before(async () => {
    started = await startStreamServer(KEY, SECRET, { store: 'sqlite::memory:' })
    app = started.app
    api = started.api
    alice = started.user('alice')
    mallory = started.user('mallory')
    await api.feed('timeline', 'bob').follow('user', 'alice')
    await api.feed('timeline', 'mallory').follow('user', 'alice')
    post = await alice.feed('user', 'alice').addActivity(
      noActor({
        verb: 'post',
        object: 'post:1',
        foreign_id: 'post:1',
        time: T,
        text: 'hello',
        to: ['notification:bob'],
      }),
    )
  })
  after(() => app.close())

  /** The text of alice's post as every feed holding it shows it. */
  async function texts(): Promise<(string | undefined)[]> {
    const feeds = [api.feed('user', 'alice'), api.feed('timeline', 'bob'), api.feed('notification', 'bob')]
    const pages = (await Promise.all(feeds.map((f) => f.get()))) as { results: Shown[] }[]
    return pages.map((p) => {
      const a = p.results[0].activities?.[0] ?? p.results[0]
      return a.text
    })
  }

  it("refuses to replace someone else's activity by re-adding its foreign_id and time", async () => {
    const forged = { actor: 'SU:mallory', verb: 'post', object: 'post:1', foreign_id: 'post:1', time: T }
    await forbidden(mallory.feed('user', 'mallory').addActivity({ ...forged, text: 'PWNED' }))
    await forbidden(
      mallory.feed('user', 'mallory').addActivity(noActor({ ...forged, actor: undefined, text: 'PWNED' })),
    )
    await forbidden(
      mallory.feed('user', 'mallory').addActivities([
        { actor: 'SU:mallory', verb: 'post', object: 'harmless' },
        { ...forged, text: 'PWNED' },
      ]),
    )
    assert.deepEqual(await texts(), ['hello', 'hello', 'hello'])
    // Nothing of the refused batch was stored either.
    assert.equal((await api.feed('user', 'mallory').get()).results.length, 0)
    // Alice still owns her activity: her update works, Mallory's does not.
    await alice.activityPartialUpdate({ id: post.id, set: { text: 'hello again' } })
    await forbidden(mallory.activityPartialUpdate({ id: post.id, set: { text: 'PWNED' } }))
    await forbidden(mallory.activityPartialUpdate({ foreign_id: 'post:1', time: T, set: { text: 'PWNED' } }))
    assert.deepEqual(await texts(), ['hello again', 'hello again', 'hello again'])
  })

  it('lets a user re-add its own foreign_id and time (Stream replaces the activity)', async () => {
    const mine = { verb: 'post', object: 'post:m', foreign_id: 'post:m', time: T }
    const first = await mallory.feed('user', 'mallory').addActivity(noActor({ ...mine, text: 'v1' }))
    const second = await mallory.feed('user', 'mallory').addActivity(noActor({ ...mine, text: 'v2' }))
    assert.equal(second.id, first.id)
    const { results } = await api.feed('user', 'mallory').get()
    assert.deepEqual(
      results.map((a) => (a as Shown).text),
      ['v2'],
    )
  })

  it("refuses to re-target someone else's activity from any feed that holds it", async () => {
    // Mallory's timeline holds alice's post through her follow; Bob's notification feed holds it directly.
    const bob = started.user('bob')
    await forbidden(
      mallory
        .feed('timeline', 'mallory')
        .updateActivityToTargets('post:1', T, undefined, ['notification:carol'], ['notification:bob']),
    )
    await forbidden(
      mallory.feed('timeline', 'mallory').updateActivityToTargets('post:1', T, ['notification:carol']),
    )
    await forbidden(
      bob.feed('notification', 'bob').updateActivityToTargets('post:1', T, undefined, ['notification:carol']),
    )
    assert.equal((await api.feed('notification', 'carol').get()).results.length, 0)
    assert.equal((await api.feed('notification', 'bob').get()).results.length, 1)
    // Alice may re-target her own post, to notification feeds but not to others' timelines.
    await alice.feed('user', 'alice').updateActivityToTargets('post:1', T, undefined, ['notification:carol'])
    assert.equal((await api.feed('notification', 'carol').get()).results.length, 1)
    await forbidden(
      alice.feed('user', 'alice').updateActivityToTargets('post:1', T, undefined, ['timeline:carol']),
    )
  })

  it('refuses to change the actor of its own activity', async () => {
    const own = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'post', object: 'o:own' }))
    await forbidden(mallory.activityPartialUpdate({ id: own.id, set: { actor: 'SU:alice' } }))
    await forbidden(mallory.activityPartialUpdate({ id: own.id, set: { 'actor.id': 'alice' } }))
    await forbidden(mallory.activityPartialUpdate({ id: own.id, set: { actor: { id: 'alice' } } }))
    await assert.rejects(
      mallory.activityPartialUpdate({ id: own.id, unset: ['actor'] }),
      (e: { error: { status_code: number } }) => e.error.status_code === 400,
    )
    // Setting it to itself changes nothing and is allowed.
    await mallory.activityPartialUpdate({ id: own.id, set: { actor: 'SU:mallory', mood: 'ok' } })
    const [stored] = (await api.getActivities({ ids: [own.id] })).results
    assert.equal(stored.actor, 'SU:mallory')
    assert.equal(stored.mood, 'ok')
  })

  it("refuses to remove from someone else's feed, and removing from its own touches only its own", async () => {
    await forbidden(mallory.feed('user', 'alice').removeActivity(post.id))
    await mallory.feed('timeline', 'mallory').removeActivity(post.id)
    assert.equal((await api.feed('timeline', 'mallory').get()).results.length, 0)
    assert.equal((await api.feed('user', 'alice').get()).results.length, 1)
    assert.equal((await api.feed('timeline', 'bob').get()).results.length, 1)
  })

  it('keeps full rights for a server token', async () => {
    await api.activityPartialUpdate({ id: post.id, set: { text: 'moderated' } })
    await api.feed('user', 'alice').updateActivityToTargets('post:1', T, undefined, ['timeline:carol'])
    await api.feed('user', 'mallory').addActivity({
      actor: 'SU:alice',
      verb: 'post',
      object: 'post:1',
      foreign_id: 'post:1',
      time: T,
      text: 'server wins',
    })
    assert.equal(((await api.feed('user', 'alice').get()).results[0] as Shown).text, 'server wins')
  })
})
