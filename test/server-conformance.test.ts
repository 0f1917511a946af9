/**
 * Conformance: the unmodified official `getstream` client against the Eddy server over a real
 * port, through the scenarios of stream-api.md §6 this issue covers. Runs on SQLite and memory.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import { must } from './helpers.js'

const KEY = 'conformance-key'
const SECRET = 'conformance-secret'
const GROUPS = {
  flat: { type: 'flat' as const },
  secret: { type: 'flat' as const },
  aggregated: { type: 'aggregated' as const },
}

/** The official client, as these tests drive it. */
type Api = StreamClient

/** The server-side methods getstream types as optional (they exist with a secret). */
type ServerApi = StreamClient & Required<Pick<StreamClient, 'addToMany' | 'followMany' | 'unfollowMany'>>

async function expectError(
  promise: Promise<unknown>,
  status: number,
  code?: number,
): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (err) {
    const e = err as { response?: { status: number }; error?: Record<string, unknown> }
    assert.equal(e.response?.status, status, JSON.stringify(e.error))
    if (code !== undefined) assert.equal(e.error?.code, code)
    assert.equal(typeof e.error?.duration, 'string')
    assert.equal(e.error?.status_code, status)
    return must(e.error, 'the error body')
  }
  assert.fail(`expected HTTP ${status}`)
}

for (const store of ['sqlite::memory:', 'memory']) {
  describe(`getstream client against the Eddy server (${store})`, () => {
    let app: FastifyInstance
    let client: EddyClient
    let api: Api
    let userApi: (id: string) => Api

    before(async () => {
      client = connect({ store, feedGroups: GROUPS })
      app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
      await app.listen({ port: 0, host: '127.0.0.1' })
      const options = {
        urlOverride: { api: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/` },
      }
      api = stream.connect(KEY, SECRET, 'app', options)
      userApi = (id) => stream.connect(KEY, api.createUserToken(id), 'app', options)
    })
    after(async () => {
      await app.close()
      await client.close()
    })

    it('reads an empty feed as { results: [], next: "", duration }', async () => {
      const body = await api.feed('flat', 'empty').get()
      assert.deepEqual(Object.keys(body).sort(), ['duration', 'next', 'results'])
      assert.deepEqual(body.results, [])
      assert.equal(body.next, '')
      assert.match(must(body.duration, 'the duration'), /^\d+\.\d+ms$/)
    })

    it('adds activities with custom fields and reads them back verbatim', async () => {
      const feed = api.feed('flat', 'custom')
      const at = new Date('2020-02-02T10:00:00.123Z')
      const added = await feed.addActivity({
        actor: 'alice',
        verb: 'eat',
        object: 3 as never,
        foreign_id: 'fid:1',
        time: at.toISOString(),
        nested: { a: [1, { b: 'c' }] },
        when: '2020-01-01T00:00:00Z',
      })
      assert.equal(added.object, '3')
      assert.equal(added.time, '2020-02-02T10:00:00.123000')
      assert.equal(typeof added.duration, 'string')
      const { results } = await feed.get({ limit: 10 })
      assert.equal(results.length, 1)
      const [a] = results as Record<string, unknown>[]
      assert.deepEqual(a.nested, { a: [1, { b: 'c' }] })
      assert.equal(a.when, '2020-01-01T00:00:00Z')
      assert.equal(a.id, added.id)
      for (const key of ['id', 'foreign_id', 'time', 'actor', 'verb', 'target', 'object', 'origin'])
        assert.ok(key in a, key)
      assert.equal('to' in a, false)
      await expectError(feed.addActivity({ actor: 'a', verb: 'v', object: '' }), 400, 4)
    })

    it('adds a batch in order and pages with limit, offset and id_lt', async () => {
      const feed = api.feed('flat', 'paged')
      const { activities } = (await feed.addActivities(
        [1, 2, 3].map((n) => ({ actor: 'a', verb: 'v', object: `o:${n}`, time: `2021-01-0${n}T00:00:00` })),
      )) as unknown as { activities: { id: string; object: string }[] }
      assert.deepEqual(
        activities.map((a) => a.object),
        ['o:1', 'o:2', 'o:3'],
      )
      const first = await feed.get({ limit: 2 })
      assert.deepEqual(
        (first.results as unknown as { object: string }[]).map((a) => a.object),
        ['o:3', 'o:2'],
      )
      assert.match(first.next, /id_lt=/)
      const offset = await feed.get({ limit: 1, offset: 1 })
      assert.equal((offset.results[0] as { object: string }).object, 'o:2')
      const after = await feed.get({ limit: 5, id_lt: first.results[0].id })
      assert.deepEqual(
        (after.results as unknown as { object: string }[]).map((a) => a.object),
        ['o:2', 'o:1'],
      )
      const detail = await feed.getActivityDetail(activities[1].id, {} as never)
      assert.equal(detail.results.length, 1)
      assert.equal(detail.results[0].id, activities[1].id)
    })

    it('removes by id and by foreign_id (unencoded in the path)', async () => {
      const feed = api.feed('flat', 'remove')
      const a = await feed.addActivity({ actor: 'a', verb: 'v', object: 'o:1' })
      await feed.addActivity({ actor: 'a', verb: 'v', object: 'o:2', foreign_id: 'add:2' })
      assert.equal((await feed.removeActivity(a.id)).removed, a.id)
      await feed.removeActivity({ foreignId: 'add:2' })
      assert.deepEqual((await feed.get()).results, [])
      // Removing what is not there is not an error, as on Stream.
      await feed.removeActivity('f9969ca8-e659-11e8-801f-e4a47194940e')
    })

    it('follows with a copy limit and unfollows with and without history', async () => {
      const source = api.feed('flat', 'source')
      for (let i = 0; i < 5; i++) await source.addActivity({ actor: 'a', verb: 'v', object: `o:${i}` })
      const one = api.feed('flat', 'copy1')
      await one.follow('flat', 'source', { limit: 2 })
      assert.equal((await one.get()).results.length, 2)
      // The server's spliced-JSON read path returns exactly what the engine returns.
      const { duration: _a, ...viaHttp } = await one.get({ limit: 1 })
      const { duration: _b, ...inProcess } = await client.feed('flat', 'copy1').get({ limit: 1 })
      assert.deepEqual(viaHttp, inProcess)
      assert.equal((viaHttp.results[0] as { origin: string }).origin, 'flat:source')
      const all = api.feed('aggregated', 'copyall')
      await all.follow('flat', 'source')
      const grouped = await all.get()
      assert.equal(grouped.results.length, 1)
      assert.equal((grouped.results[0] as { activity_count: number }).activity_count, 5)
      await one.unfollow('flat', 'source', { keepHistory: true })
      assert.equal((await one.get()).results.length, 2)
      const two = api.feed('flat', 'copy2')
      await two.follow('flat', 'source', { limit: 500 })
      await two.unfollow('flat', 'source')
      assert.equal((await two.get()).results.length, 0)
    })

    it('lists followers and following with filter, and follow stats by slug', async () => {
      await api.feed('flat', 'f1').follow('user', 'star')
      await api.feed('timeline', 'f2').follow('user', 'star')
      await api.feed('timeline', 'f2').follow('flat', 'other')
      const followers = await api.feed('user', 'star').followers()
      assert.deepEqual(followers.results.map((r: { feed_id: string }) => r.feed_id).sort(), [
        'flat:f1',
        'timeline:f2',
      ])
      assert.equal(followers.results[0].target_id, 'user:star')
      const filtered = await api.feed('timeline', 'f2').following({ filter: ['flat:other'] })
      assert.deepEqual(
        filtered.results.map((r: { target_id: string }) => r.target_id),
        ['flat:other'],
      )
      const limited = await api.feed('timeline', 'f2').following({ limit: 1, offset: 1 })
      assert.equal(limited.results.length, 1)
      const stats = await api.feed('user', 'star').followStats({ followerSlugs: ['timeline', 'news'] })
      assert.deepEqual(stats.results.followers, { feed: 'user:star', count: 1 })
      assert.deepEqual(stats.results.following, { feed: 'user:star', count: 0 })
    })

    it('reads notification feeds with mark_seen and mark_read applied after the response', async () => {
      const feed = api.feed('notification', 'n1')
      await feed.addActivities([
        { actor: '1', verb: 'add', object: '1' },
        { actor: '2', verb: 'test', object: '2' },
      ])
      const before = await feed.get({ limit: 2 })
      assert.equal(before.unseen, 2)
      const id = before.results[0].id
      const marking = await feed.get({ limit: 2, mark_seen: true, mark_read: id as never })
      assert.equal((marking.results[0] as { is_seen: boolean }).is_seen, false)
      const body = await feed.get({ limit: 2 })
      const groups = body.results as unknown as { is_seen: boolean; is_read: boolean }[]
      assert.deepEqual(
        groups.map((g) => [g.is_seen, g.is_read]),
        [
          [true, true],
          [true, false],
        ],
      )
      assert.equal(body.unseen, 0)
      assert.equal(body.unread, 1)
      assert.deepEqual((await feed.get({ limit: 0 })).results, [])
    })

    it('updates activities, partially updates them, and gets them by id and by foreign_id + time', async () => {
      const feed = api.feed('flat', 'upd')
      const time = '2022-03-03T03:03:03.000000'
      const a = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'u:1',
        time,
        popularity: 1,
      })
      await api.updateActivities([
        { actor: 'a', verb: 'v', object: 'o', foreign_id: 'u:1', time, popularity: 2 },
      ])
      await expectError(
        api.updateActivities([{ actor: 'a', verb: 'v', object: 'o', foreign_id: 'u:1' } as never]),
        400,
        4,
      )
      await expectError(
        api.updateActivities([
          { actor: 'a', verb: 'v', object: 'o', foreign_id: 'u:1', time, to: ['flat:x'] },
        ]),
        400,
        4,
      )
      const byId = await api.getActivities({ ids: [a.id] })
      assert.deepEqual(Object.keys(byId).sort(), ['duration', 'results'])
      assert.equal((byId.results[0] as unknown as { popularity: number }).popularity, 2)
      const partial = await api.activityPartialUpdate({
        id: a.id,
        set: { 'meta.score': 5 },
        unset: ['popularity'],
      })
      assert.deepEqual((partial as unknown as { meta: unknown }).meta, { score: 5 })
      const batch = await api.activitiesPartialUpdate([{ foreign_id: 'u:1', time, set: { tag: 'x' } }])
      assert.equal((batch.activities[0] as unknown as { tag: string }).tag, 'x')
      const byFid = await api.getActivities({ foreignIDTimes: [{ foreign_id: 'u:1', time }] })
      assert.equal(byFid.results[0].id, a.id)
      assert.equal((byFid.results[0] as { popularity?: number }).popularity, undefined)
    })

    it('adds to `to` targets and updates them (new, added, removed)', async () => {
      const feed = api.feed('user', 'tt')
      const time = new Date('2023-01-01T00:00:00Z')
      await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'to:1',
        time: time.toISOString(),
        to: ['user:1234'],
      })
      assert.equal((await api.feed('user', '1234').get()).results.length, 1)
      const res = await feed.updateActivityToTargets('to:1', time.toISOString(), ['user:4321'])
      assert.deepEqual(res.removed, ['user:1234'])
      assert.deepEqual(((await feed.get()).results[0] as unknown as { to: string[] }).to, ['user:4321'])
      await feed.updateActivityToTargets('to:1', time.toISOString(), undefined, ['user:5678'], ['user:4321'])
      assert.deepEqual(((await feed.get()).results[0] as unknown as { to: string[] }).to, ['user:5678'])
      assert.equal((await api.feed('user', '1234').get()).results.length, 0)
      await expectError(feed.updateActivityToTargets('nope', time.toISOString(), ['user:1']), 404, 16)
    })

    it('adds to many feeds, follows many and unfollows many', async () => {
      await (api as ServerApi).addToMany({ actor: 'a', verb: 'v', object: 'o:many' }, ['flat:m1', 'flat:m2'])
      assert.equal((await api.feed('flat', 'm2').get()).results.length, 1)
      await (api as ServerApi).followMany(
        [
          { source: 'timeline:fm', target: 'flat:m1' },
          { source: 'timeline:fm', target: 'flat:m2' },
        ],
        0,
      )
      assert.equal((await api.feed('timeline', 'fm').get()).results.length, 0)
      assert.equal((await api.feed('timeline', 'fm').following()).results.length, 2)
      await (api as ServerApi).unfollowMany([
        { source: 'timeline:fm', target: 'flat:m1', keep_history: true },
      ])
      assert.equal((await api.feed('timeline', 'fm').following()).results.length, 1)
      await expectError(
        (api as ServerApi).unfollowMany([{ source: 'timeline:fm', target: 42 as never }]),
        400,
        4,
      )
    })

    it('rejects unknown feed groups and bad ids with Stream error bodies', async () => {
      const err = await expectError(api.feed('nope', 'x').get(), 400, 6)
      assert.equal(err.exception, 'FeedConfigException')
      await expectError(api.feed('flat', 'x').get({ id_lt: 'not-a-uuid' }), 400, 4)
      await expectError(api.feed('flat', 'x').get({ limit: 'many' as never }), 400, 4)
    })

    it('answers what it does not serve with a clear 501, and foreign upload URLs with a 400', async () => {
      const err = await expectError(api.personalizedFeed({ feed_slug: 'timeline' } as never), 501)
      assert.equal(err.exception, 'NotImplementedException')
      await expectError(api.files.delete('https://example.com/f.txt'), 400, 4)
      // Link previews never reach the server's own network unless the operator allows it.
      await expectError(api.og('http://127.0.0.1:1/'), 400, 4)
    })

    it('works with a user token on its own feeds', async () => {
      const alice = userApi('alice')
      const added = await alice.feed('user', 'alice').addActivity({ verb: 'post', object: 'hello' } as never)
      assert.equal(added.actor, 'SU:alice')
      const read = await alice.feed('user', 'alice').get()
      assert.equal(read.results.length, 1)
    })
  })
}
