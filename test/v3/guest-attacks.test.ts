/**
 * Guests and anonymous callers on Feeds V3, written as the attacker, on every store: a guest
 * token forged with another secret on the WebSocket, an anonymous caller steering a user's
 * connection, anonymous writes, and CreateGuest bodies that are not what they claim. Each fails
 * cleanly with V3’s error and changes nothing; CreateGuest is bounded per address.
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
import { startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3guestattacks')) {
  describe(`Feeds V3 guests and anonymous callers under attack (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    const anonymous = (method: string, path: string, body?: unknown) => raw(s, method, path, undefined, body)
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('refuses a guest token forged with another secret on the WebSocket', async () => {
      const guest = await anonymous('POST', '/guest', { user: { id: 'g1' } })
      assert.equal(guest.status, 201)
      const ws = await openSocket(s)
      ws.send(
        JSON.stringify({
          token: await sign({ user_id: 'g1' }, 'guessed-secret'),
          user_details: { id: 'g1' },
        }),
      )
      const first = await nextMessage<{ type: string; error: V3Error }>(ws)
      assert.equal(first.type, 'connection.error')
      assert.equal(first.error.code, 3)
      await closed(ws)
    })

    it('does not let an anonymous caller steer a user’s connection', async () => {
      const hal = await s.connect('hal')
      await s.server.feeds.feed('user', 'pub').getOrCreate({ user_id: 'pub', data: { visibility: 'public' } })
      const r = await anonymous(
        'POST',
        `/feeds/feed_groups/user/feeds/pub?connection_id=${connectionIdOf(hal)}`,
        {
          watch: true,
        },
      )
      assert.equal(r.status, 200)
      let leaked = false
      hal.on('feeds.activity.added', () => {
        leaked = true
      })
      await s.server.feeds.addActivity({ user_id: 'pub', feeds: ['user:pub'], type: 'post', text: 'unasked' })
      await quiet()
      assert.equal(leaked, false)
    })

    it('lets anonymous callers write nothing: no feeds, activities, users or roles', async () => {
      assert.equal((await anonymous('POST', '/feeds/feed_groups/user/feeds/anon-feed', {})).status, 403)
      const add = await anonymous('POST', '/feeds/activities', {
        feeds: ['user:pub'],
        type: 'post',
        text: 'x',
      })
      assert.equal(add.status, 403)
      assert.equal(add.body.code, 17)
      const users = await anonymous('POST', '/users', { users: { pub: { id: 'pub', name: 'Owned' } } })
      assert.equal(users.status, 403)
      const partial = await anonymous('PATCH', '/users', { users: [{ id: 'pub', set: { role: 'admin' } }] })
      assert.equal(partial.status, 403)
    })

    it('refuses CreateGuest bodies that are not a user, and never returns another user’s token', async () => {
      for (const body of [
        {},
        { user: 'g2' },
        { user: { id: '../x' } },
        { user: { id: 'g2', custom: 'x' } },
      ]) {
        const r = await anonymous('POST', '/guest', body)
        assert.equal(r.status, 400, JSON.stringify(body))
        assert.equal(r.body.code, 4)
      }
      const first = await anonymous('POST', '/guest', { user: { id: 'hal' } })
      assert.notEqual((first.body.user as { id: string }).id, 'hal')
      const token = String(first.body.access_token)
      const [, payload] = token.split('.')
      assert.notEqual(JSON.parse(Buffer.from(String(payload), 'base64url').toString()).user_id, 'hal')
    })

    it('bounds CreateGuest per address by default: a flood gets Stream’s 429 with Retry-After', async () => {
      let refused: RawAnswer | undefined
      let made = 0
      for (let i = 0; i < 80 && !refused; i++) {
        const r = await anonymous('POST', '/guest', { user: { id: `flood-${i}` } })
        if (r.status === 201) made++
        else refused = r
      }
      assert.ok(refused, 'a flood of 80 guests from one address was never refused')
      assert.equal(refused.status, 429)
      assert.equal(refused.body.code, 9)
      assert.ok(made <= 60, `${made} guests made`)
      assert.equal(
        (await s.server.queryUsers({ payload: { filter_conditions: { id: 'flood-79' } } })).users.length,
        0,
      )
    })

    it('takes the guests option: a budget per address and window, or false for no guests at all', async () => {
      const few = await startV3(store, { guests: { perAddress: 2, windowSeconds: 60 } })
      try {
        const ask = (id: string) => raw(few, 'POST', '/guest', undefined, { user: { id } })
        assert.equal((await ask('a')).status, 201)
        assert.equal((await ask('b')).status, 201)
        const third = await ask('c')
        assert.equal(third.status, 429)
        assert.match(third.body.message, /guest/)
      } finally {
        await few.close()
      }
      const none = await startV3(store, { guests: false })
      try {
        const r = await raw(none, 'POST', '/guest', undefined, { user: { id: 'a' } })
        assert.equal(r.status, 403)
        assert.equal(r.body.code, 17)
        assert.match(r.body.message, /guest/)
      } finally {
        await none.close()
      }
    })
  })
}
