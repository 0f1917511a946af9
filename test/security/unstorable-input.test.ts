/**
 * Input no store can keep, as an attacker with a user token sends it (issue 17, items 3 and 7):
 * NUL characters and lone UTF-16 surrogates in verbs, foreign ids, custom fields at any depth,
 * keys, reaction, user and collection data; and activity times past what an id encodes. On every
 * store (memory, SQLite, PostgreSQL, PostgreSQL + Redis) each is the same 400 naming the field,
 * through raw HTTP, the official client and the embedded client, and the feeds keep flowing
 * afterwards. An activity stored before the time range existed, with an id that is not a valid
 * version-1 UUID, can still be removed by id by its author and by a server token.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { AggregatedActivity, NewActivity, StreamClient } from 'getstream'
import { idToSk, skToId, sortKey, tailFor } from '../../src/engine/ids.js'
import type { Store } from '../../src/store/store.js'
import { everyStore } from '../fixtures/every-store.js'
import { startStreamServer } from '../fixtures/stream-server.js'
import { must } from '../helpers.js'

const KEY = 'text-key'
const SECRET = 'text-secret'
/** The latest time an activity id holds to the microsecond (2^53 - 1 microseconds). */
const LATEST = '2255-06-05T23:47:34.740991'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** Stream's error body, as the wire carries it and the official client rejects with it. */
interface StreamError {
  status_code?: number
  code?: number
  exception?: string
  exception_fields?: Record<string, unknown>
  detail?: string
}

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

const { stores: STORES } = await everyStore('text')

/** Asserts Stream's 400 InputException naming `field` (and matching `detail` when given). */
async function refused(promise: Promise<unknown>, field: string | RegExp, detail?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: { error?: StreamError }) => {
    assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
    assert.equal(e.error?.code, 4)
    assert.equal(e.error?.exception, 'InputException')
    const fields = Object.keys(e.error?.exception_fields ?? {})
    const named = typeof field === 'string' ? fields.includes(field) : fields.some((f) => field.test(f))
    assert.ok(named, `${field} not named: ${JSON.stringify(e.error)}`)
    if (detail) assert.match(String(e.error?.detail), detail)
    return true
  })
}

for (const kind of STORES) {
  describe(`unstorable input on ${kind.name}`, { skip: kind.skip }, () => {
    let store: Store
    let client: EddyClient
    let app: FastifyInstance
    let base: string
    let server: Api
    let mallory: Api
    let malloryToken: string
    let post: { id: string }

    before(async () => {
      store = await kind.open()
      client = connect({ store })
      const started = await startStreamServer(KEY, SECRET, { client })
      app = started.app
      base = started.base
      server = started.api
      malloryToken = started.token('mallory')
      mallory = started.user('mallory')
      // Bob's aggregated timeline follows Mallory: what she posts fans out into a grouped feed.
      await server.feed('timeline_aggregated', 'bob').follow('user', 'mallory')
      await server.feed('timeline', 'bob').follow('user', 'mallory')
      post = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'post', object: 'o:1' }))
    })
    after(async () => {
      await app.close()
      await client.close()
    })

    /** Raw request as Mallory; `body` is sent as given (JSON text keeps `\u0000` escapes). */
    async function raw(method: string, path: string, body?: string) {
      const sep = path.includes('?') ? '&' : '?'
      const res = await fetch(`${base}v1.0/${path}${sep}api_key=${KEY}`, {
        method,
        headers: {
          authorization: malloryToken,
          'stream-auth-type': 'jwt',
          'content-type': 'application/json',
        },
        body,
      })
      return { status: res.status, body: (await res.json()) as StreamError }
    }

    /** A normal post still reaches both of Bob's timelines: nothing was poisoned or stuck. */
    async function stillFlowing(object: string): Promise<void> {
      const added = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'post', object }))
      await client.flush()
      const flat = await server.feed('timeline', 'bob').get({ limit: 5 })
      assert.equal(flat.results[0]?.id, added.id)
      const grouped = await server.feed('timeline_aggregated', 'bob').get({ limit: 5 })
      assert.ok(
        (grouped.results as AggregatedActivity[]).some((g) => g.activities.some((a) => a.id === added.id)),
        JSON.stringify(grouped.results),
      )
    }

    it('refuses a NUL verb with a 400 naming verb, over raw HTTP and the official client', async () => {
      const text = JSON.stringify({ actor: 'SU:mallory', verb: 'po\u0000st', object: 'o:2' })
      const res = await raw('POST', 'feed/user/mallory/', text)
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.equal(res.body.exception, 'InputException')
      assert.ok(res.body.exception_fields?.verb, JSON.stringify(res.body))
      assert.match(must(res.body.detail, 'the detail'), /NUL/)
      await refused(
        mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'po\u0000st', object: 'o:2' })),
        'verb',
      )
      await stillFlowing('after-nul-verb')
    })

    it('refuses lone surrogates and NUL anywhere in an activity, naming the path', async () => {
      const feed = mallory.feed('user', 'mallory')
      await refused(
        feed.addActivity(noActor({ verb: 'v', object: 'o', foreign_id: 'f\ud800' })),
        'foreign_id',
      )
      await refused(feed.addActivity(noActor({ verb: 'v', object: 'o\udc00' })), 'object')
      await refused(feed.addActivity(noActor({ verb: 'v', object: 'o', target: 't\u0000' })), 'target')
      await refused(
        feed.addActivity(noActor({ verb: 'v', object: 'o', meta: { tags: ['ok', 'b\u0000'] } })),
        'meta.tags[1]',
      )
      await refused(feed.addActivity(noActor({ verb: 'v', object: 'o', meta: { 'k\u0000': 1 } })), 'meta')
      await refused(feed.addActivity(noActor({ verb: 'v', object: 'o', 'k\ud83d': 1 })), /^(activity|body)$/)
      await refused(
        feed.addActivity(noActor({ verb: 'v', object: 'o', to: ['notification:a\u0000'] })),
        /^to/,
      )
      await refused(
        feed.addActivities([
          noActor({ verb: 'v', object: 'fine' }),
          noActor({ verb: 'v\ud800', object: 'o' }),
        ]),
        'activities[1].verb',
      )
      // A surrogate pair is well-formed text and stays as sent.
      const emoji = await feed.addActivity(noActor({ verb: 'v', object: 'o', note: 'ok \ud83d\ude00' }))
      assert.equal(emoji.note, 'ok \ud83d\ude00')
      await stillFlowing('after-surrogates')
    })

    it('refuses them in updates, reactions, users, collections, removals and queries', async () => {
      await refused(mallory.activityPartialUpdate({ id: post.id, set: { text: 'a\u0000' } }), /set\.text$/)
      await refused(mallory.activityPartialUpdate({ id: post.id, set: { 'a\u0000b': 1 } }), /set$/)
      await refused(mallory.reactions.add('like', post.id, { text: '\ud800' }), 'data.text')
      await refused(mallory.user('mallory').getOrCreate({ name: 'a\u0000' }), 'data.name')
      await refused(mallory.collections.add('food', 'x1', { name: '\udc00' }), 'data.name')
      const removal = await raw('DELETE', 'feed/user/mallory/a%00b/?foreign_id=1')
      assert.equal(removal.status, 400, JSON.stringify(removal.body))
      assert.ok(removal.body.exception_fields?.activityId, JSON.stringify(removal.body))
      const query = await raw('GET', 'activities/?foreign_ids=a%00b&timestamps=2026-01-01T00:00:00')
      assert.equal(query.status, 400, JSON.stringify(query.body))
      assert.ok(query.body.exception_fields?.foreign_ids, JSON.stringify(query.body))
      await stillFlowing('after-other-routes')
    })

    it('refuses them from the embedded client with the same error', async () => {
      const feed = client.feed('user', 'carol')
      await refused(feed.addActivity({ actor: 'carol', verb: 'v\u0000', object: 'o' }), 'verb')
      await refused(
        feed.addActivity({ actor: 'carol', verb: 'v', object: 'o', deep: [{ x: '\ud800' }] }),
        'deep[0].x',
      )
      await refused(feed.removeActivity({ foreign_id: 'f\u0000' }), 'foreign_id')
    })

    it('refuses times past what an id holds with a 400 stating the range', async () => {
      const range = new RegExp(`1970-01-01T00:00:00.000000 and ${LATEST.replace(/\./g, '\\.')}`)
      const res = await raw(
        'POST',
        'feed/user/mallory/',
        JSON.stringify({ actor: 'SU:mallory', verb: 'v', object: 'o', time: '9999-12-31T23:59:59' }),
      )
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.ok(res.body.exception_fields?.time, JSON.stringify(res.body))
      assert.match(must(res.body.detail, 'the detail'), range)
      const feed = mallory.feed('user', 'mallory')
      await refused(
        feed.addActivity(noActor({ verb: 'v', object: 'o', time: '2255-06-05T23:47:34.740992' })),
        'time',
        range,
      )
      await refused(feed.addActivity(noActor({ verb: 'v', object: 'o', time: 9e13 })), 'time', range)
      await refused(
        client
          .feed('user', 'carol')
          .addActivity({ actor: 'carol', verb: 'v', object: 'o', time: new Date(8e15) }),
        'time',
        range,
      )
      // The latest time itself is fine, and its id is a valid version-1 UUID that removes it.
      const latest = await feed.addActivity(noActor({ verb: 'v', object: 'latest', time: LATEST }))
      assert.ok(idToSk(latest.id), latest.id)
      assert.equal(latest.time, LATEST)
      await feed.removeActivity(latest.id)
      const page = await feed.get({ limit: 5 })
      assert.ok(!page.results.some((a: { id: string }) => a.id === latest.id))
    })

    it('removes an activity stored with an out-of-range id, by its author and by a server token', async () => {
      // What the add of `9999-12-31T23:59:59` stored before the range existed: a 16-digit time
      // in the sort key, and an id made from it that is not a valid version-1 UUID.
      const micros = Date.UTC(9999, 11, 31, 23, 59, 59) * 1000
      const sk = sortKey(micros, tailFor('c:legacy'))
      const id = skToId(sk)
      assert.equal(idToSk(id), undefined, `${id} should not parse`)
      const body = JSON.stringify({
        id,
        actor: 'SU:mallory',
        verb: 'pin',
        object: 'o:pinned',
        target: '',
        foreign_id: '',
        time: '9999-12-31T23:59:59.000000',
        origin: null,
      })
      await store.write({
        activities: [{ sk, body, foreignId: '' }],
        add: [
          { feed: 'user:mallory', kind: 'flat', sk, origin: null },
          { feed: 'timeline:bob', kind: 'flat', sk, origin: 'user:mallory' },
        ],
      })
      const pinned = await mallory.feed('user', 'mallory').get({ limit: 1 })
      assert.equal(pinned.results[0]?.id, id, 'the legacy activity is first')

      await mallory.feed('user', 'mallory').removeActivity(id)
      const own = await mallory.feed('user', 'mallory').get({ limit: 100 })
      assert.ok(!own.results.some((a: { id: string }) => a.id === id), 'the author removed it')
      await server.feed('timeline', 'bob').removeActivity(id)
      const bob = await server.feed('timeline', 'bob').get({ limit: 100 })
      assert.ok(!bob.results.some((a: { id: string }) => a.id === id), 'a server token removed it')
      // An id that matches nothing is still answered as Stream does, and garbage is still a 400.
      await mallory.feed('user', 'mallory').removeActivity(id)
      await refused(mallory.feed('user', 'mallory').removeActivity('not-an-id'), 'activity id')
    })
  })
}
