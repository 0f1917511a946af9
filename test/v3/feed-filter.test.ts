/**
 * GetOrCreateFeed's `filter` on flat feeds, through @stream-io/feeds-client, on every store: the
 * same evaluator as grouped reads and QueryActivities (filter.ts on query-filter.ts): bare lists
 * mean every listed tag, `$in`, `$and`/`$or`; unserved fields are refused as not supported.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3feedfilter')) {
  describe(`Feeds V3 flat feed reads honour filter (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let ann: FeedsClient
    const texts = (r: { activities: { text?: string }[] }) => r.activities.map((a) => a.text).sort()
    before(async () => {
      s = await startV3(store)
      ann = await s.connect('ann')
      const feed = ann.feed('user', 'ann')
      await feed.getOrCreate()
      for (const [text, tags, type] of [
        ['green', ['green'], 'post'],
        ['green-orange', ['green', 'orange'], 'post'],
        ['blue', ['blue'], 'hike'],
      ] as const)
        await feed.addActivity({ type, text, filter_tags: [...tags] })
    })
    after(() => s.close())

    it('keeps activities with every listed tag, or of the listed types', async () => {
      const feed = ann.feed('user', 'ann')
      assert.deepEqual(texts(await feed.getOrCreate({ filter: { filter_tags: ['green'] } })), [
        'green',
        'green-orange',
      ])
      assert.deepEqual(texts(await feed.getOrCreate({ filter: { filter_tags: ['green', 'orange'] } })), [
        'green-orange',
      ])
      assert.deepEqual(texts(await feed.getOrCreate({ filter: { activity_type: { $in: ['hike'] } } })), [
        'blue',
      ])
      assert.deepEqual(texts(await feed.getOrCreate({})), ['blue', 'green', 'green-orange'])
    })

    it('takes $and and $or, as the docs snippet sends them', async () => {
      const feed = ann.feed('user', 'ann')
      const and = await feed.getOrCreate({
        filter: { $and: [{ filter_tags: ['green'] }, { filter_tags: ['orange'] }] },
      })
      assert.deepEqual(texts(and), ['green-orange'])
      const or = await feed.getOrCreate({ filter: { $or: [{ filter_tags: ['orange'] }, { type: 'hike' }] } })
      assert.deepEqual(texts(or), ['blue', 'green-orange'])
    })

    it('refuses unserved fields as not supported, and too many conditions', async () => {
      const feed = ann.feed('user', 'ann')
      await assert.rejects(feed.getOrCreate({ filter: { text: 'x' } }), /not supported/)
      const many = {
        $or: Array.from({ length: 20 }, () => ({ type: 'a', user_id: 'b', filter_tags: ['c'] })),
      }
      await assert.rejects(feed.getOrCreate({ filter: many }), /at most 50 conditions/)
    })
  })
}
