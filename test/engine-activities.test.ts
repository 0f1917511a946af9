import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EddyClient } from '../src/client/client.js'
import { idToSk, skMicros } from '../src/engine/ids.js'
import { parseTime } from '../src/engine/time.js'
import { at, must, open, rejection, STORES } from './helpers.js'

for (const store of STORES) {
  describe(`${store.name}: activities`, () => {
    let client: EddyClient
    before(() => {
      client = open(store)
    })
    after(() => client.close())

    it('returns the stored activity with Stream keys, strings for numbers and custom fields verbatim', async () => {
      const added = await client.feed('user', 'ann').addActivity({
        actor: 'ann',
        verb: 'tweet',
        object: 3,
        foreign_id: 'tweet:1',
        time: '2026-11-20T12:00:00.123456Z',
        text: 'hello',
        nested: { tags: ['a', 'b'], at: '2026-01-01T00:00:00Z' },
      })
      assert.equal(added.object, '3')
      assert.equal(added.target, '')
      assert.equal(added.time, '2026-11-20T12:00:00.123456')
      assert.deepEqual(added.nested, { tags: ['a', 'b'], at: '2026-01-01T00:00:00Z' })
      assert.equal('to' in added, false)
      const { results } = (await client.feed('user', 'ann').get({ limit: 1 })) as {
        results: Record<string, unknown>[]
      }
      const keys = Object.keys(results[0]).sort()
      assert.deepEqual(keys, [
        'actor',
        'foreign_id',
        'id',
        'nested',
        'object',
        'origin',
        'target',
        'text',
        'time',
        'verb',
      ])
      assert.equal(results[0].id, added.id)
    })

    it('keeps custom fields whatever their name, drops an empty to and never lets a field set the id', async () => {
      const added = await client.feed('user', 'names').addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        to: [],
        toString: 'plain data',
        constructor: 'also data',
        id: 'ignored',
        origin: 'ignored',
        when: new Date('2026-01-02T03:04:05.678Z'),
      } as never)
      assert.equal(added.toString, 'plain data')
      assert.equal(added.constructor, 'also data')
      assert.equal(added.when, '2026-01-02T03:04:05.678Z')
      assert.equal('to' in added, false)
      assert.notEqual(added.id, 'ignored')
      assert.equal(added.origin, null)
      const parsed = JSON.parse('{"actor":"a","verb":"v","object":"o","__proto__":{"polluted":true}}')
      const stored = await client.feed('user', 'names').addActivity(parsed)
      assert.deepEqual(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value, { polluted: true })
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })

    it('gives activities version-1 UUIDs whose timestamp is the activity time', async () => {
      const added = await client
        .feed('user', 'uuid')
        .addActivity({ actor: 'a', verb: 'v', object: 'o', time: '2017-11-24T18:49:48' })
      assert.match(added.id, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.equal(added.id.slice(0, 18), '3ed3ae00-d148-11e7')
      assert.equal(
        skMicros(must(idToSk(added.id), 'a sort key for the id')),
        parseTime('2017-11-24T18:49:48'),
      )
    })

    it('accepts times with or without a zone and rejects impossible ones', async () => {
      const feed = client.feed('user', 'times')
      const a = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        time: '2026-11-20T14:00:00+02:00',
      })
      const b = await feed.addActivity({ actor: 'a', verb: 'v', object: 'o2', time: '2026-11-20T12:00:00' })
      const c = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o3',
        time: new Date('2026-11-20T12:00:00Z'),
      })
      assert.equal(a.time, '2026-11-20T12:00:00.000000')
      assert.equal(b.time, a.time)
      assert.equal(c.time, a.time)
      for (const time of [
        'yesterday',
        '2026-02-30T00:00:00',
        '2026-11-20T25:00:00',
        true as unknown as string,
      ]) {
        const err = await rejection(feed.addActivity({ actor: 'a', verb: 'v', object: 'o', time }))
        assert.equal(err.code, 4)
        assert.match(err.detail, /time/)
      }
    })

    it('replaces an activity re-added with the same foreign_id and time, in every feed', async () => {
      const feed = client.feed('user', 'dup')
      const first = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'x:1',
        time: at(1),
        n: 1,
      })
      const second = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'x:1',
        time: at(1),
        n: 2,
      })
      assert.equal(first.id, second.id)
      const { results } = (await feed.get()) as unknown as { results: { n: number }[] }
      assert.equal(results.length, 1)
      assert.equal(results[0].n, 2)
      const other = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'x:1',
        time: at(2),
      })
      assert.notEqual(other.id, first.id)
    })

    it('gives one activity the same id in the author feed, follower feeds and to targets', async () => {
      await client.feed('timeline', 'same-f').follow('user', 'same')
      const added = await client
        .feed('user', 'same')
        .addActivity({ actor: 'a', verb: 'v', object: 'o', to: ['notification:same-n'] })
      await client.flush()
      const timeline = (await client.feed('timeline', 'same-f').get()) as {
        results: { id: string; origin: string }[]
      }
      const notes = (await client.feed('notification', 'same-n').get()) as {
        results: { activities: { id: string }[] }[]
      }
      assert.equal(timeline.results[0].id, added.id)
      assert.equal(timeline.results[0].origin, 'user:same')
      assert.equal(notes.results[0].activities[0].id, added.id)
      assert.deepEqual(added.to, ['notification:same-n'])
    })

    it('rejects bad activities with InputException naming the field and echoing the value', async () => {
      const feed = client.feed('user', 'bad')
      const cases: [unknown, RegExp][] = [
        [{ verb: 'v', object: 'o' }, /actor is required/],
        [{ actor: 'a', object: 'o' }, /verb is required/],
        [{ actor: 'a', verb: 'v' }, /object is required/],
        [{ actor: 'a', verb: 'v', object: '' }, /object is required.*got ""/],
        [{ actor: 'a', verb: 'v'.repeat(256), object: 'o' }, /verb must be at most 255 bytes/],
        [{ actor: 'a', verb: 'v', object: 'o', text: 'x'.repeat(11_000) }, /at most 10240 bytes/],
        [{ actor: 'a', verb: 'v', object: 'o', to: 'notification:1' }, /to must be a list/],
        [{ actor: 'a', verb: 'v', object: 'o', to: ['notification'] }, /feed id like user:42/],
        [{ actor: 'a', verb: 'v', object: 'o', to: ['no such:1'] }, /slug/],
        [{ actor: 'a', verb: 'v', object: 'o', foreign_id: { x: 1 } }, /foreign_id must be a string/],
        ['not an object', /must be an object/],
        [null, /must be an object/],
      ]
      for (const [input, message] of cases) {
        const err = await rejection(feed.addActivity(input as never))
        assert.equal(err.exception, 'InputException', String(message))
        assert.equal(err.status_code, 400)
        assert.match(err.detail, message)
      }
      const tooMany = Array.from({ length: 101 }, (_, i) => ({ actor: 'a', verb: 'v', object: `o${i}` }))
      assert.match((await rejection(feed.addActivities(tooMany))).detail, /at most 100 activities/)
      assert.equal((await feed.get()).results.length, 0)
    })

    it('rejects unknown feed groups with FeedConfigException and bad ids with InputException', async () => {
      // feed() hands out a handle at once; its first call rejects, as a promise-returning method should.
      const unknown = await rejection(client.feed('nope', '1').get())
      assert.equal(unknown.exception, 'FeedConfigException')
      assert.equal(unknown.code, 6)
      assert.match(unknown.detail, /configured groups: user, timeline/)
      assert.equal((await rejection(client.feed('bad slug', '1').get())).code, 4)
      assert.equal((await rejection(client.feed('user', 'a b').get())).code, 4)
      assert.equal((await rejection(client.feed('user', 'x'.repeat(256)).get())).code, 4)
      assert.equal((await rejection(client.feed('user', '').get())).code, 4)
    })

    it('adds many activities in order and returns them', async () => {
      const feed = client.feed('user', 'many')
      const { activities } = await feed.addActivities([
        { actor: 'a', verb: 'v', object: '1', time: at(1) },
        { actor: 'a', verb: 'v', object: '2', time: at(2) },
      ])
      assert.deepEqual(
        activities.map((a) => a.object),
        ['1', '2'],
      )
      const { results } = await feed.get()
      assert.deepEqual(
        (results as { object: string }[]).map((a) => a.object),
        ['2', '1'],
      )
    })

    it('removes by id and by foreign_id, from followers too', async () => {
      await client.feed('timeline', 'rm-f').follow('user', 'rm')
      const feed = client.feed('user', 'rm')
      const a = await feed.addActivity({ actor: 'a', verb: 'v', object: '1', foreign_id: 'f:1', time: at(1) })
      await feed.addActivity({ actor: 'a', verb: 'v', object: '2', foreign_id: 'f:2', time: at(2) })
      await client.flush()
      assert.deepEqual(await feed.removeActivity(a.id).then((r) => r.removed), a.id)
      assert.equal((await feed.removeActivity({ foreign_id: 'f:2' })).removed, 'f:2')
      await client.flush()
      assert.equal((await feed.get()).results.length, 0)
      assert.equal((await client.feed('timeline', 'rm-f').get()).results.length, 0)
      // Removing something that is not there is not an error, as on Stream.
      assert.equal((await feed.removeActivity(a.id)).removed, a.id)
      assert.equal((await rejection(feed.removeActivity('not-a-uuid'))).code, 4)
      assert.equal((await rejection(feed.removeActivity({} as never))).code, 4)
    })

    it('withdraws an activity from its to targets when removed from the feed it was added to', async () => {
      const feed = client.feed('user', 'rm-to')
      const a = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        to: ['notification:rm-to-n', 'user:rm-to-2'],
      })
      await client.flush()
      assert.equal((await client.feed('user', 'rm-to-2').get()).results.length, 1)
      await feed.removeActivity(a.id)
      await client.flush()
      assert.equal((await client.feed('user', 'rm-to-2').get()).results.length, 0)
      assert.equal((await client.feed('notification', 'rm-to-n').get()).results.length, 0)
    })

    it('gets activities by ids and by foreign_id + time, leaving out unknown ones', async () => {
      const feed = client.feed('user', 'get')
      const a = await feed.addActivity({ actor: 'a', verb: 'v', object: '1', foreign_id: 'g:1', time: at(5) })
      const b = await feed.addActivity({ actor: 'a', verb: 'v', object: '2', foreign_id: 'g:2', time: at(6) })
      const byId = await client.getActivities({ ids: [b.id, a.id, '3ed3ae00-d148-11e7-8080-80004c5f321a'] })
      assert.deepEqual(
        byId.results.map((r) => r.id),
        [b.id, a.id],
      )
      const byForeign = await client.getActivities({
        foreignIDTimes: [
          { foreignId: 'g:1', time: at(5) },
          { foreignId: 'g:2', time: new Date(at(6)) },
        ],
      })
      assert.deepEqual(
        byForeign.results.map((r) => r.id),
        [a.id, b.id],
      )
      assert.equal((await rejection(client.getActivities({ ids: ['x'] }))).code, 4)
      assert.equal((await rejection(client.getActivities({ ids: [] }))).code, 4)
      assert.equal((await rejection(client.getActivities({}))).code, 4)
      assert.equal(
        (await rejection(client.getActivities({ foreignIDTimes: [{ foreignId: 'g:1' } as never] }))).code,
        4,
      )
    })

    it('updates whole activities by foreign_id + time but refuses to change to', async () => {
      const feed = client.feed('user', 'upd')
      const a = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'u:1',
        time: at(1),
        n: 1,
      })
      await client.updateActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'u:1',
        time: at(1),
        n: 2,
      })
      const { results } = await client.getActivities({ ids: [a.id] })
      assert.equal(results[0].n, 2)
      assert.equal(
        (await rejection(client.updateActivity({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'u:1' })))
          .code,
        4,
      )
      assert.equal(
        (await rejection(client.updateActivity({ actor: 'a', verb: 'v', object: 'o', time: at(1) }))).code,
        4,
      )
      const toChange = await rejection(
        client.updateActivity({
          actor: 'a',
          verb: 'v',
          object: 'o',
          foreign_id: 'u:1',
          time: at(1),
          to: ['user:zz'],
        }),
      )
      assert.match(toChange.detail, /to cannot be changed/)
      // As on Stream: updating an activity that does not exist creates it, in no feed (no `to`).
      await client.updateActivity({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'u:9', time: at(1) })
      const created = await client.getActivities({ foreignIDTimes: [{ foreign_id: 'u:9', time: at(1) }] })
      assert.deepEqual(
        created.results.map((r: Record<string, unknown>) => [r.foreign_id, r.object]),
        [['u:9', 'o']],
      )
      const createdTo = await rejection(
        client.updateActivity({
          actor: 'a',
          verb: 'v',
          object: 'o',
          foreign_id: 'u:8',
          time: at(1),
          to: ['user:zz'],
        }),
      )
      assert.equal(createdTo.code, 4)
      assert.match(createdTo.detail, /cannot have to targets/)
      assert.equal(
        (await client.getActivities({ foreignIDTimes: [{ foreign_id: 'u:8', time: at(1) }] })).results.length,
        0,
      )
    })

    it('applies partial updates with dotted set paths and unset, by id or foreign_id + time', async () => {
      const feed = client.feed('user', 'partial')
      const a = await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 'p:1',
        time: at(1),
        product: { name: 'shoes', price: 10, color: 'red' },
        popularity: 1,
      })
      const updated = await client.activityPartialUpdate({
        id: a.id,
        set: { 'product.price': 20, 'product.size.eu': 42, popularity: 2 },
        unset: ['product.color'],
      })
      assert.deepEqual(updated.product, { name: 'shoes', price: 20, size: { eu: 42 } })
      assert.equal(updated.id, a.id)
      const { activities } = await client.activitiesPartialUpdate([
        { foreign_id: 'p:1', time: at(1), set: { product: { name: 'hat' } } },
      ])
      assert.deepEqual(activities[0].product, { name: 'hat' })
      const read = (await feed.get()).results[0] as Record<string, unknown>
      assert.deepEqual(read.product, { name: 'hat' })
      assert.equal(read.popularity, 2)
      assert.match(
        (await rejection(client.activityPartialUpdate({ id: a.id, set: { time: 'x' } }))).detail,
        /time cannot be changed/,
      )
      assert.match(
        (await rejection(client.activityPartialUpdate({ id: a.id, unset: ['actor'] }))).detail,
        /cannot be unset/,
      )
      assert.equal((await rejection(client.activityPartialUpdate({ id: a.id }))).code, 4)
      const missing = await rejection(
        client.activityPartialUpdate({ id: '3ed3ae00-d148-11e7-8080-80004c5f321a', set: { x: 1 } }),
      )
      assert.equal(missing.status_code, 404)
    })

    it('adds to many feeds without fanning out, and refuses to', async () => {
      await client.feed('timeline', 'atm-f').follow('user', 'atm-1')
      await client.addToMany({ actor: 'a', verb: 'v', object: 'o' }, [
        'user:atm-1',
        'user:atm-2',
        'notification:atm-3',
      ])
      await client.flush()
      assert.equal((await client.feed('user', 'atm-1').get()).results.length, 1)
      assert.equal((await client.feed('user', 'atm-2').get()).results.length, 1)
      assert.equal((await client.feed('notification', 'atm-3').get()).results.length, 1)
      assert.equal((await client.feed('timeline', 'atm-f').get()).results.length, 0)
      assert.equal(
        (
          await rejection(
            client.addToMany({ actor: 'a', verb: 'v', object: 'o', to: ['user:1'] }, ['user:2']),
          )
        ).code,
        4,
      )
      assert.equal((await rejection(client.addToMany({ actor: 'a', verb: 'v', object: 'o' }, []))).code, 4)
      assert.equal(
        (await rejection(client.addToMany({ actor: 'a', verb: 'v', object: 'o' }, ['nope:1']))).code,
        6,
      )
    })

    it('updates to targets: replace, add and remove, with fan-out', async () => {
      const feed = client.feed('user', 'tt')
      await client.feed('timeline', 'tt-watch').follow('user', 'tt-b')
      await feed.addActivity({
        actor: 'a',
        verb: 'v',
        object: 'o',
        foreign_id: 't:1',
        time: at(1),
        to: ['user:tt-a'],
      })
      const replaced = await feed.updateActivityToTargets('t:1', at(1), ['user:tt-b'])
      assert.deepEqual(replaced.to, ['user:tt-b'])
      assert.deepEqual(replaced.added, ['user:tt-b'])
      assert.deepEqual(replaced.removed, ['user:tt-a'])
      await client.flush()
      assert.equal((await client.feed('user', 'tt-a').get()).results.length, 0)
      assert.equal((await client.feed('user', 'tt-b').get()).results.length, 1)
      assert.equal((await client.feed('timeline', 'tt-watch').get()).results.length, 1)
      const edited = await feed.updateActivityToTargets('t:1', at(1), undefined, ['user:tt-c'], ['user:tt-b'])
      assert.deepEqual(edited.to, ['user:tt-c'])
      await client.flush()
      assert.equal((await client.feed('timeline', 'tt-watch').get()).results.length, 0)
      const cleared = await feed.updateActivityToTargets('t:1', at(1), undefined, undefined, ['user:tt-c'])
      assert.equal('to' in cleared, false)
      const read = (await feed.get()).results[0] as Record<string, unknown>
      assert.equal('to' in read, false)
      assert.equal((await rejection(feed.updateActivityToTargets('t:1', at(1)))).code, 4)
      assert.equal(
        (await rejection(feed.updateActivityToTargets('t:1', at(1), ['user:x'], ['user:y']))).code,
        4,
      )
      assert.equal((await rejection(feed.updateActivityToTargets('t:9', at(1), ['user:x']))).status_code, 404)
    })
  })
}
