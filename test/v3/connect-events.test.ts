/**
 * Feeds V3 realtime around connecting, through Stream's feeds-client from npm on every store: a
 * feed created with `watch` tells its creator (`feeds.feed.created`), as Stream's does; a deleted
 * activity is announced once, by its V3 id (its own id when it was added with one), while V1's
 * Faye message for the same removal stays Stream's V1 message.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import stream from 'getstream'
import { KEY, nextEvent, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

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

    it('announces a deleted activity once, by its own V3 id; V1 Faye gets its V1 message', async () => {
      const client = await s.connect('gus')
      const feed = client.feed('user', 'gus')
      await feed.getOrCreate({ watch: true })
      const v1 = stream.connect(KEY, SECRET, '4242', {
        urlOverride: { api: `${s.base}/api/` },
        fayeUrl: `${s.base}/faye`,
      })
      const faye: Record<string, unknown>[] = []
      try {
        await v1.feed('user', 'gus').subscribe((m) => faye.push(m as never))
        const deleted: { activity: { id: string } }[] = []
        client.on('feeds.activity.deleted', (e) => deleted.push(e as never))
        const added = nextEvent(feed as never, 'feeds.activity.added')
        await client.addActivity({ feeds: ['user:gus'], type: 'post', id: 'gus-own-1', text: 'mine' })
        await added
        const gone = nextEvent<{ activity: { id: string } }>(feed as never, 'feeds.activity.deleted')
        await client.deleteActivity({ id: 'gus-own-1' })
        assert.equal((await gone).activity.id, 'gus-own-1')
        // Faye's message for the removal arrives too; by then every V3 event for it has been sent.
        const deadline = Date.now() + 5000
        while (!faye.some((m) => (m.deleted as string[]).length > 0) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20))
        const removal = faye.find((m) => (m.deleted as string[]).length > 0)
        assert.ok(removal, 'Faye hears the removal')
        assert.deepEqual(removal.deleted_foreign_ids, [
          ['gus-own-1', (removal.deleted_foreign_ids as [string, string][])[0]?.[1]],
        ])
        assert.equal('deleted_v3_ids' in removal, false)
        assert.deepEqual(
          deleted.map((e) => e.activity.id),
          ['gus-own-1'],
        )
      } finally {
        v1.fayeClient?.disconnect()
      }
    })
  })
}
