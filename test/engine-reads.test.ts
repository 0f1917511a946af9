import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import type {
  AggregatedFeedResponse,
  FlatFeedResponse,
  NotificationFeedResponse,
} from '../src/wire/responses.js'
import { at, must, open, rejection, STORES } from './helpers.js'

const day = (d: number, minutes = 0) => at(d * 24 * 60 + minutes)

for (const store of STORES) {
  describe(`${store.name}: reads, aggregation and notifications`, () => {
    let client: EddyClient
    before(() => {
      client = open(store, {
        feedGroups: {
          by_actor: { type: 'aggregated', aggregationFormat: '{{ actor }}-{{ time.strftime("%Y-%m") }}' },
          small_groups: { type: 'aggregated', maxActivitiesPerGroup: 2 },
          capped: { type: 'flat', maxLength: 3 },
          by_object: { type: 'notification', aggregationFormat: '{{ verb }}:{{ object }}' },
        },
      })
    })
    after(() => client.close())

    it('pages a flat feed newest first with limit, offset, id cursors and next', async () => {
      const feed = client.feed('user', 'pages')
      const { activities } = await feed.addActivities(
        Array.from({ length: 30 }, (_, i) => ({ actor: 'a', verb: 'v', object: `${i}`, time: at(i) })),
      )
      const first = (await feed.get()) as FlatFeedResponse
      assert.equal(first.results.length, 25)
      assert.equal(first.results[0].object, '29')
      assert.equal(first.next, `/api/v1.0/feed/user/pages/?id_lt=${first.results[24].id}&limit=25`)
      const second = (await feed.get({ id_lt: first.results[24].id })) as FlatFeedResponse
      assert.deepEqual(
        second.results.map((a) => a.object),
        ['4', '3', '2', '1', '0'],
      )
      assert.equal(second.next, '')
      const byId = (id: string) =>
        must(
          activities.find((a) => a.object === id),
          `activity ${id}`,
        ).id
      assert.deepEqual(
        ((await feed.get({ limit: 2, offset: 1 })) as FlatFeedResponse).results.map((a) => a.object),
        ['28', '27'],
      )
      assert.deepEqual(
        ((await feed.get({ id_lte: byId('10'), limit: 2 })) as FlatFeedResponse).results.map((a) => a.object),
        ['10', '9'],
      )
      assert.deepEqual(
        ((await feed.get({ id_gt: byId('27') })) as FlatFeedResponse).results.map((a) => a.object),
        ['29', '28'],
      )
      assert.deepEqual(
        ((await feed.get({ id_gte: byId('28'), id_lte: byId('28') })) as FlatFeedResponse).results.map(
          (a) => a.object,
        ),
        ['28'],
      )
      const detail = (await feed.getActivityDetail(byId('7'))) as FlatFeedResponse
      assert.deepEqual(
        detail.results.map((a) => a.object),
        ['7'],
      )
      assert.equal(((await feed.get({ limit: 100 })) as FlatFeedResponse).results.length, 30)
      assert.deepEqual(await feed.get({ limit: 0 }).then((r) => r.results), [])
    })

    it('returns an empty page with next "" for an empty feed', async () => {
      const empty = await client.feed('user', 'nobody').get()
      assert.deepEqual({ results: empty.results, next: empty.next }, { results: [], next: '' })
      assert.match(empty.duration, /^\d+\.\d\dms$/)
    })

    it('rejects bad read options with InputException', async () => {
      const feed = client.feed('user', 'pages')
      for (const options of [
        { limit: 101 },
        { limit: -1 },
        { limit: 'ten' },
        { offset: -5 },
        { id_lt: 'nope' },
        { id_gte: 42 },
      ]) {
        const err = await rejection(feed.get(options as never))
        assert.equal(err.code, 4, JSON.stringify(options))
      }
      assert.match(
        (await rejection(feed.get({ limit: 101 }))).detail,
        /limit must be an integer from 0 to 100, got 101/,
      )
      assert.equal((await rejection(client.feed('notification', 'x').get({ mark_seen: ['nope'] }))).code, 4)
    })

    it('keeps only the newest maxLength activities of a capped feed', async () => {
      const feed = client.feed('capped', '1')
      for (let i = 0; i < 5; i++)
        await feed.addActivity({ actor: 'a', verb: 'v', object: `${i}`, time: at(i) })
      assert.deepEqual(
        ((await feed.get()) as FlatFeedResponse).results.map((a) => a.object),
        ['4', '3', '2'],
      )
    })

    it('groups by verb and day by default, sorted by the newest activity, with exact counts', async () => {
      const feed = client.feed('timeline_aggregated', 'agg')
      await feed.addActivities([
        { actor: 'ann', verb: 'like', object: '1', time: day(0, 1) },
        { actor: 'bob', verb: 'like', object: '2', time: day(0, 2) },
        { actor: 'ann', verb: 'like', object: '3', time: day(0, 3) },
        { actor: 'ann', verb: 'post', object: '4', time: day(0, 4) },
        { actor: 'ann', verb: 'like', object: '5', time: day(1, 1) },
      ])
      const { results } = (await feed.get()) as AggregatedFeedResponse
      assert.deepEqual(
        results.map((g) => [g.group, g.verb, g.activity_count, g.actor_count]),
        [
          ['like_2026-11-21', 'like', 1, 1],
          ['post_2026-11-20', 'post', 1, 1],
          ['like_2026-11-20', 'like', 3, 2],
        ],
      )
      const likes = results[2]
      assert.equal(likes.created_at, '2026-11-20T12:01:00.000000')
      assert.equal(likes.updated_at, '2026-11-20T12:03:00.000000')
      assert.deepEqual(
        likes.activities.map((a) => a.object),
        ['3', '2', '1'],
      )
      assert.deepEqual(Object.keys(likes).sort(), [
        'activities',
        'activity_count',
        'actor_count',
        'created_at',
        'group',
        'id',
        'updated_at',
        'verb',
      ])
      // A newer activity moves its group above the others; the group keeps its id.
      await feed.addActivity({ actor: 'cat', verb: 'like', object: '6', time: day(0, 10) })
      const again = (await feed.get()) as AggregatedFeedResponse
      assert.deepEqual(
        again.results.map((g) => g.group),
        ['like_2026-11-21', 'like_2026-11-20', 'post_2026-11-20'],
      )
      assert.equal(again.results[1].id, likes.id)
      assert.equal(again.results[1].actor_count, 3)
      const page = (await feed.get({ id_lt: again.results[0].id, limit: 1 })) as AggregatedFeedResponse
      assert.equal(page.results[0].group, 'like_2026-11-20')
      assert.equal(page.next, `/api/v1.0/feed/timeline_aggregated/agg/?id_lt=${likes.id}&limit=1`)
      const lte = (await feed.get({ id_lte: again.results[1].id })) as AggregatedFeedResponse
      assert.equal(lte.results[0].group, 'like_2026-11-20')
    })

    it('uses a custom aggregation format with actor, strftime and custom fields', async () => {
      const feed = client.feed('by_actor', '1')
      await feed.addActivities([
        { actor: 'ann', verb: 'a', object: '1', time: '2026-10-01T00:00:00' },
        { actor: 'ann', verb: 'b', object: '2', time: '2026-10-31T00:00:00' },
        { actor: 'bob', verb: 'a', object: '3', time: '2026-10-02T00:00:00' },
      ])
      const { results } = (await feed.get()) as AggregatedFeedResponse
      assert.deepEqual(results.map((g) => g.group).sort(), ['ann-2026-10', 'bob-2026-10'])
    })

    it('shows the newest maxActivitiesPerGroup activities while counts stay exact', async () => {
      const feed = client.feed('small_groups', '1')
      const { activities } = await feed.addActivities(
        Array.from({ length: 5 }, (_, i) => ({
          actor: `u${i % 3}`,
          verb: 'like',
          object: `${i}`,
          time: at(i),
        })),
      )
      let group = ((await feed.get()) as AggregatedFeedResponse).results[0]
      assert.equal(group.activity_count, 5)
      assert.equal(group.actor_count, 3)
      assert.deepEqual(
        group.activities.map((a) => a.object),
        ['4', '3'],
      )
      await feed.removeActivity(activities[4].id)
      await feed.removeActivity(activities[1].id)
      group = ((await feed.get()) as AggregatedFeedResponse).results[0]
      assert.equal(group.activity_count, 3)
      assert.equal(group.actor_count, 2)
      assert.deepEqual(
        group.activities.map((a) => a.object),
        ['3', '2'],
      )
      assert.equal(group.updated_at, '2026-11-20T12:03:00.000000')
    })

    it('rejects a bad aggregation format when the feed group is configured', async () => {
      for (const aggregationFormat of [
        '{{ verb ',
        '{{ verb|upper }}',
        '{{ time.strftime("%Q") }}',
        '',
        '}}',
      ]) {
        const err = await rejection(() =>
          connect({ store: 'memory', feedGroups: { bad: { type: 'aggregated', aggregationFormat } } }),
        )
        assert.equal(err.exception, 'FeedConfigException', aggregationFormat)
      }
      assert.equal(
        (await rejection(() => connect({ store: 'memory', feedGroups: { bad: { type: 'tree' as never } } })))
          .code,
        6,
      )
      assert.equal(
        (await rejection(() => connect({ store: 'memory', feedGroups: { 'b-a-d': { type: 'flat' } } }))).code,
        6,
      )
    })

    it('marks notifications seen and read after building the response, with exact counts', async () => {
      const feed = client.feed('notification', 'n1')
      await feed.addActivities([
        { actor: 'ann', verb: 'like', object: '1', time: day(0) },
        { actor: 'bob', verb: 'follow', object: '2', time: day(0, 1) },
        { actor: 'cat', verb: 'like', object: '3', time: day(1) },
      ])
      const fresh = (await feed.get({ mark_seen: true })) as NotificationFeedResponse
      assert.deepEqual(Object.keys(fresh).sort(), ['duration', 'next', 'results', 'unread', 'unseen'])
      assert.equal(fresh.unseen, 3)
      assert.equal(fresh.unread, 3)
      assert.ok(fresh.results.every((g) => g.is_seen === false && g.is_read === false))
      const seen = (await feed.get({ limit: 0 })) as NotificationFeedResponse
      assert.deepEqual([seen.unseen, seen.unread, seen.results.length], [0, 3, 0])
      const [newest, middle] = fresh.results
      await feed.get({ mark_read: newest.id })
      await feed.get({ mark_read: [middle.id] })
      const read = (await feed.get()) as NotificationFeedResponse
      assert.equal(read.unread, 1)
      assert.deepEqual(
        read.results.map((g) => g.is_read),
        [true, true, false],
      )
      await feed.get({ mark_read: true })
      assert.equal(((await feed.get()) as NotificationFeedResponse).unread, 0)
      // A new activity in a seen and read group makes it unseen and unread again.
      await feed.addActivity({ actor: 'dan', verb: 'like', object: '4', time: day(1, 5) })
      const after = (await feed.get()) as NotificationFeedResponse
      assert.deepEqual([after.unseen, after.unread], [1, 1])
      assert.equal(after.results[0].id, newest.id)
      assert.equal(after.results[0].is_seen, false)
      assert.equal(after.results[0].activity_count, 2)
    })

    it('marks a comma-separated list of notification groups', async () => {
      const feed = client.feed('by_object', 'n2')
      await feed.addActivities([
        { actor: 'a', verb: 'like', object: '1', time: at(1) },
        { actor: 'b', verb: 'like', object: '2', time: at(2) },
        { actor: 'c', verb: 'like', object: '2', time: at(3) },
      ])
      const { results } = (await feed.get()) as NotificationFeedResponse
      assert.deepEqual(
        results.map((g) => [g.group, g.activity_count]),
        [
          ['like:2', 2],
          ['like:1', 1],
        ],
      )
      await feed.get({ mark_seen: results.map((g) => g.id).join(',') })
      assert.equal(((await feed.get()) as NotificationFeedResponse).unseen, 0)
    })
  })
}
