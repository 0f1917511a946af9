/**
 * Feeds V3 written as the attacker, on every store: forged and borrowed tokens, other users'
 * feeds, activities and connections, oversized bodies and WebSocket floods. Each must fail cleanly
 * with V3's error body and change nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  closed,
  connectionIdOf,
  nextMessage,
  openSocket,
  quiet,
  type RawAnswer,
  raw,
  sign,
  type V3Error,
} from './attacker.js'
import { KEY, startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3attacks')) {
  describe(`Feeds V3 under attack (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    const call = (method: string, path: string, token: string, body?: unknown): Promise<RawAnswer> =>
      raw(s, method, path, token, body)
    before(async () => {
      s = await startV3(store)
      const alice = await sign({ user_id: 'alice' })
      await call('POST', '/feeds/feed_groups/user/feeds/alice', alice, { data: { visibility: 'private' } })
      await call('POST', '/feeds/activities', alice, {
        feeds: ['user:alice'],
        type: 'post',
        id: 'alice-1',
        text: 'secret',
      })
    })
    after(() => s.close())

    it('refuses a token signed with another secret, and a wrong api key', async () => {
      const forged = await sign({ user_id: 'alice' }, 'not-the-secret')
      const r = await call('GET', '/feeds/activities/alice-1', forged)
      assert.equal(r.status, 401)
      assert.equal(r.body.code, 3)
      assert.equal(r.body.StatusCode, 401)
      const wrongKey = await fetch(`${s.base}/api/v2/feeds/activities/alice-1?api_key=nope`, {
        headers: { authorization: await sign({ user_id: 'alice' }) },
      })
      assert.equal(wrongKey.status, 401)
    })

    it('keeps a user token to its own user: no writes to, reads of or changes on another user’s things', async () => {
      const mallory = await sign({ user_id: 'mallory' })
      const attempts = [
        call('POST', '/feeds/activities', mallory, { feeds: ['user:alice'], type: 'post', text: 'x' }),
        call('POST', '/feeds/activities', mallory, {
          feeds: ['user:mallory'],
          type: 'post',
          user_id: 'alice',
        }),
        call('POST', '/feeds/feed_groups/user/feeds/alice', mallory, {}),
        call('GET', '/feeds/activities/alice-1', mallory),
        call('DELETE', '/feeds/activities/alice-1', mallory),
        call('PATCH', '/feeds/activities/alice-1', mallory, { set: { text: 'pwned' } }),
        call('PUT', '/feeds/feed_groups/user/feeds/alice', mallory, { name: 'pwned' }),
        call('DELETE', '/feeds/feed_groups/user/feeds/alice', mallory),
        call('POST', '/users', mallory, { users: { alice: { id: 'alice', name: 'pwned' } } }),
        call('POST', '/users/delete', mallory, { user_ids: ['alice'] }),
        call('POST', '/feeds/follows', mallory, { source: 'timeline:alice', target: 'user:mallory' }),
      ]
      for (const r of await Promise.all(attempts)) {
        assert.equal(r.status, 403, JSON.stringify(r.body))
        assert.equal(r.body.code, 17)
      }
      const { activity } = await s.server.feeds.getActivity({ id: 'alice-1' })
      assert.equal(activity.text, 'secret')
    })

    it('refuses a WebSocket whose user_details name another user than the token', async () => {
      const ws = await openSocket(s)
      ws.send(JSON.stringify({ token: await sign({ user_id: 'mallory' }), user_details: { id: 'alice' } }))
      const first = await nextMessage<{ type: string; error: V3Error }>(ws)
      assert.equal(first.type, 'connection.error')
      assert.equal(first.error.code, 17)
      await closed(ws)
    })

    it('does not let one user subscribe another user’s connection', async () => {
      const alice = await s.connect('alice')
      const mallory = await sign({ user_id: 'mallory' })
      await call('POST', '/feeds/feed_groups/user/feeds/mallory', mallory, {})
      const r = await call(
        'POST',
        `/feeds/feed_groups/user/feeds/mallory?connection_id=${connectionIdOf(alice)}`,
        mallory,
        { watch: true },
      )
      assert.equal(r.status, 200)
      let leaked = false
      alice.on('feeds.activity.added', () => {
        leaked = true
      })
      await call('POST', '/feeds/activities', mallory, { feeds: ['user:mallory'], type: 'spam' })
      await quiet()
      assert.equal(leaked, false)
    })

    it('closes a WebSocket that floods messages, and refuses oversized bodies', async () => {
      const ws = await openSocket(s)
      ws.send(JSON.stringify({ token: await sign({ user_id: 'flood' }), user_details: { id: 'flood' } }))
      await nextMessage(ws)
      const code = closed(ws)
      for (let i = 0; i < 200 && ws.readyState === ws.OPEN; i++) ws.send('[{"type":"health.check"}]')
      assert.equal(await code, 1008)

      const big = await call('POST', '/feeds/activities', await sign({ user_id: 'flood' }), {
        feeds: ['user:flood'],
        type: 'post',
        text: 'x'.repeat(3 * 1024 * 1024),
      })
      assert.equal(big.status, 413)
      assert.equal(big.body.StatusCode, 413)
    })

    it('refuses forged feed cursors whose ids are not text, on flat and notification feeds', async () => {
      const bob = await sign({ user_id: 'bob' })
      await call('POST', '/feeds/feed_groups/user/feeds/bob', bob, {})
      await call('POST', '/feeds/feed_groups/notification/feeds/bob', bob, {})
      const forge = (fields: Record<string, unknown>) =>
        Buffer.from(JSON.stringify(fields)).toString('base64url')
      for (const group of ['user', 'notification'])
        for (const [field, fields] of [
          ['next', { gt: 'x', lt: { $ne: '' } }],
          ['next', { gt: 'x', lt: 7 }],
          ['prev', { lt: 'x', gt: ['a', 'b'] }],
        ] as const) {
          const r = await call('POST', `/feeds/feed_groups/${group}/feeds/bob`, bob, {
            [field]: forge(fields),
          })
          assert.equal(
            r.status,
            400,
            `${group} ${field} ${JSON.stringify(fields)}: ${JSON.stringify(r.body)}`,
          )
          assert.equal(r.body.code, 4)
        }
    })

    it('lists the follows of a members or followers feed to those who may see it only', async () => {
      const bob = await sign({ user_id: 'bob2' })
      const mallory = await sign({ user_id: 'mallory' })
      await call('POST', '/feeds/feed_groups/user/feeds/carol2', await sign({ user_id: 'carol2' }), {})
      await call('POST', '/feeds/feed_groups/timeline/feeds/bob2', bob, { data: { visibility: 'members' } })
      await call('POST', '/feeds/feed_groups/user/feeds/bob2', bob, { data: { visibility: 'followers' } })
      const follow = await call('POST', '/feeds/follows', bob, {
        source: 'timeline:bob2',
        target: 'user:carol2',
      })
      assert.equal(follow.status, 201, JSON.stringify(follow.body))
      for (const filter of [{ source_feed: 'timeline:bob2' }, { target_feed: 'user:bob2' }]) {
        const r = await call('POST', '/feeds/follows/query', mallory, { filter })
        assert.equal(r.status, 403, `${JSON.stringify(filter)}: ${JSON.stringify(r.body)}`)
        assert.equal(r.body.code, 17)
        const anonymous = await raw(s, 'POST', '/feeds/follows/query', undefined, { filter })
        assert.equal(anonymous.status, 403)
      }
      const own = await call('POST', '/feeds/follows/query', bob, {
        filter: { source_feed: 'timeline:bob2' },
      })
      assert.equal(own.status, 200)
      assert.equal((own.body.follows as unknown[]).length, 1)
    })

    it('answers a wrong api key on the WebSocket with connection.error', async () => {
      const ws = await openSocket(s, `api_key=not-${KEY}&stream-auth-type=jwt`)
      ws.send(JSON.stringify({ token: await sign({ user_id: 'alice' }), user_details: { id: 'alice' } }))
      const first = await nextMessage<{ type: string; error: V3Error }>(ws)
      assert.equal(first.type, 'connection.error')
      assert.equal(first.error.StatusCode, 401)
      await closed(ws)
    })

    it('holds at most realtime.connections WebSockets, dropping those that never sent a token first', async () => {
      const small = await startV3(store, { realtime: { connections: 2 } })
      try {
        const silent = await openSocket(small)
        const silentClosed = closed(silent)
        const first = await openSocket(small)
        // Full: a new socket takes the place of the oldest one that has not authenticated.
        const second = await openSocket(small)
        assert.equal(await silentClosed, 1013)
        for (const [ws, user] of [
          [first, 'cap-1'],
          [second, 'cap-2'],
        ] as const) {
          ws.send(JSON.stringify({ token: await sign({ user_id: user }), user_details: { id: user } }))
          assert.equal((await nextMessage<{ type: string }>(ws)).type, 'connection.ok')
        }
        // Full of authenticated connections: the next upgrade is refused, nobody is dropped.
        await assert.rejects(openSocket(small), /503/)
        assert.equal(first.readyState, first.OPEN)
        first.close()
        second.close()
      } finally {
        await small.close()
      }
    })
  })
}
