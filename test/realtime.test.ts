/**
 * Realtime, embedded: `client.feed(...).subscribe(cb)` receives Stream's message for adds, `to`
 * targets, fan-out delivery (inline and background chunks), removes, reaction target feeds and
 * notification marks, with exact unseen/unread, on every built-in local store.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FeedMessage } from '../src/engine/events.js'
import { open, STORES } from './helpers.js'

/** Collects messages and lets a test wait for the next ones. */
function inbox() {
  const messages: FeedMessage[] = []
  let wake: (() => void) | undefined
  return {
    messages,
    push(m: FeedMessage) {
      messages.push(m)
      wake?.()
    },
    async next(count = 1): Promise<FeedMessage[]> {
      while (messages.length < count) await new Promise<void>((r) => (wake = r))
      return messages.splice(0, count)
    },
  }
}

for (const store of STORES.filter((s) => !s.name.startsWith('postgres'))) {
  describe(`realtime, embedded (${store.name})`, () => {
    it('publishes adds, fan-out, removes and marks as Stream messages', async () => {
      // Chunks of 2 followers: fan-out to 5 followers runs one chunk inline and the rest later.
      const client = open(store, { fanoutChunkSize: 2 })
      try {
        const followers = ['f1', 'f2', 'f3', 'f4', 'f5']
        for (const f of followers) await client.feed('timeline', f).follow('user', 'alice')
        const own = inbox()
        const last = inbox()
        const sub = client.feed('user', 'alice').subscribe(own.push)
        await sub
        client.feed('timeline', 'f5').subscribe(last.push)
        const added = await client
          .feed('user', 'alice')
          .addActivity({ actor: 'alice', verb: 'post', object: 'o:1', foreign_id: 'post:1' })
        const [m] = await own.next()
        assert.equal(m.feed, 'user:alice')
        assert.deepEqual(m.deleted, [])
        assert.deepEqual(m.deleted_foreign_ids, [])
        assert.equal(m.new.length, 1)
        assert.equal(m.new[0].id, added.id)
        assert.equal(typeof m.published_at, 'string')
        assert.equal(typeof m.app_id, 'string')
        const [f] = await last.next()
        assert.equal(f.feed, 'timeline:f5')
        assert.equal(f.new[0].id, added.id)
        assert.equal(f.new[0].origin, 'user:alice')

        await client.feed('user', 'alice').removeActivity(added.id)
        const [r] = await own.next()
        assert.deepEqual(r.deleted, [added.id])
        assert.deepEqual(r.deleted_foreign_ids, [['post:1', added.time]])
        assert.deepEqual(r.new, [])
        const [rf] = await last.next()
        assert.deepEqual(rf.deleted, [added.id])

        sub.cancel()
        await client.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: 'o:2' })
        await last.next()
        assert.equal(own.messages.length, 0, 'a cancelled subscription receives nothing')
      } finally {
        await client.close()
      }
    })

    it('notification feeds carry exact unseen/unread and marks', async () => {
      const client = open(store)
      try {
        const box = inbox()
        client.feed('notification', 'bob').subscribe(box.push)
        for (let i = 0; i < 3; i++) {
          await client.feed('user', 'alice').addActivity({
            actor: 'alice',
            verb: `v${i}`,
            object: `o:${i}`,
            to: ['notification:bob'],
          })
        }
        const added = await box.next(3)
        assert.deepEqual(
          added.map((m) => [m.unseen, m.unread]),
          [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
        )
        assert.equal(typeof added[0].new[0].group, 'string')
        await client.feed('notification', 'bob').get({ mark_seen: true })
        const [seen] = await box.next()
        assert.equal(seen.mark_seen, true)
        assert.equal(seen.unseen, 0)
        assert.equal(seen.unread, 3)
        const page = await client.feed('notification', 'bob').get({ limit: 1 })
        const group = (page.results[0] as { id: string }).id
        await client.feed('notification', 'bob').get({ limit: 1, mark_read: [group] })
        const [read] = await box.next()
        assert.deepEqual(read.mark_read, [group])
        assert.equal(read.unread, 2)
      } finally {
        await client.close()
      }
    })

    it('a reaction with target feeds reaches the notification feed', async () => {
      const client = open(store)
      try {
        const post = await client
          .feed('user', 'alice')
          .addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1' })
        const box = inbox()
        client.feed('notification', 'alice').subscribe(box.push)
        await client.reactions.add(
          'like',
          post.id,
          {},
          { userId: 'bob', targetFeeds: ['notification:alice'] },
        )
        const [m] = await box.next()
        assert.equal(m.feed, 'notification:alice')
        assert.equal(m.new.length, 1)
        assert.equal(m.new[0].verb, 'like')
        assert.equal(m.unseen, 1)
      } finally {
        await client.close()
      }
    })
  })
}
