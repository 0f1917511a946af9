/**
 * Feeds V3 written as the attacker: forged and borrowed tokens, other users' feeds, activities
 * and connections, oversized bodies and WebSocket floods. Each must fail cleanly with V3's error
 * body and change nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { WebSocket } from 'ws'
import { STORES } from '../helpers.js'
import { KEY, SECRET, startV3, type V3Server } from './harness.js'

/** V3's error body, as far as these tests read it. */
interface V3Error {
  code: number
  StatusCode: number
  message: string
}

const sign = (payload: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))

describe('Feeds V3 under attack', () => {
  let s: V3Server
  let call: (
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ) => Promise<{ status: number; body: V3Error }>
  before(async () => {
    s = await startV3(STORES[0])
    call = async (method, path, token, body) => {
      const response = await fetch(`${s.base}/api/v2${path}${path.includes('?') ? '&' : '?'}api_key=${KEY}`, {
        method,
        headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { status: response.status, body: (await response.json()) as V3Error }
    }
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
      call('POST', '/feeds/activities', mallory, { feeds: ['user:mallory'], type: 'post', user_id: 'alice' }),
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
    const ws = new WebSocket(
      `${s.base.replace('http', 'ws')}/api/v2/connect?api_key=${KEY}&stream-auth-type=jwt`,
    )
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ token: await sign({ user_id: 'mallory' }), user_details: { id: 'alice' } }))
    const first = await new Promise<{ type: string; error: V3Error }>((resolve) =>
      ws.once('message', (m) => resolve(JSON.parse(String(m)))),
    )
    assert.equal(first.type, 'connection.error')
    assert.equal(first.error.code, 17)
    await new Promise((resolve) => ws.once('close', resolve))
  })

  it('does not let one user subscribe another user’s connection', async () => {
    const alice = await s.connect('alice')
    const connectionId = (alice as unknown as { wsConnection: { connectionID: string } }).wsConnection
      .connectionID
    const mallory = await sign({ user_id: 'mallory' })
    await call('POST', '/feeds/feed_groups/user/feeds/mallory', mallory, {})
    const r = await call(
      'POST',
      `/feeds/feed_groups/user/feeds/mallory?connection_id=${connectionId}`,
      mallory,
      { watch: true },
    )
    assert.equal(r.status, 200)
    let leaked = false
    alice.on('feeds.activity.added', () => {
      leaked = true
    })
    await call('POST', '/feeds/activities', mallory, { feeds: ['user:mallory'], type: 'spam' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(leaked, false)
  })

  it('closes a WebSocket that floods messages, and refuses oversized bodies', async () => {
    const ws = new WebSocket(
      `${s.base.replace('http', 'ws')}/api/v2/connect?api_key=${KEY}&stream-auth-type=jwt`,
    )
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ token: await sign({ user_id: 'flood' }), user_details: { id: 'flood' } }))
    await new Promise((resolve) => ws.once('message', resolve))
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    for (let i = 0; i < 200 && ws.readyState === ws.OPEN; i++) ws.send('[{"type":"health.check"}]')
    assert.equal(await closed, 1008)

    const big = await call('POST', '/feeds/activities', await sign({ user_id: 'flood' }), {
      feeds: ['user:flood'],
      type: 'post',
      text: 'x'.repeat(3 * 1024 * 1024),
    })
    assert.equal(big.status, 413)
    assert.equal(big.body.StatusCode, 413)
  })
})
