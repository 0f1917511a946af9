/**
 * Feeds V3 realtime around connecting, through Stream's feeds-client from npm on every store: a
 * feed created with `watch` tells its creator (`feeds.feed.created`), as Stream's does.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3connect')) {
  describe(`Feeds V3 connect events (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('sends feeds.feed.created to the creator that watches the new feed', async () => {
      const client = await s.connect('fay')
      const created = nextEvent<{ fid: string; feed: { custom: Record<string, unknown> } }>(
        client as never,
        'feeds.feed.created',
      )
      await client.getOrCreateFeed({
        feed_group_id: 'user',
        feed_id: 'fay',
        data: { visibility: 'public', custom: { color: 'red' } },
        watch: true,
      })
      const event = await created
      assert.equal(event.fid, 'user:fay')
      assert.deepEqual(event.feed.custom, { color: 'red' })
      assert.equal(client.feed('user', 'fay').state.getLatestValue().custom?.color, 'red')
    })
  })
}
