/**
 * Route schemas reject as the hand checks did: Stream's InputException naming the field, after
 * the token is checked, without coercing values or dropping fields, and custom fields still pass.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { SignJWT } from 'jose'

const KEY = 'schemas-key'
const SECRET = 'schemas-secret'

describe('route schemas', () => {
  let app: FastifyInstance
  let admin: string
  let alice: string

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
    admin = await sign({ resource: '*', action: '*', feed_id: '*' })
    alice = await sign({ user_id: 'alice' })
  })
  after(() => app.close())

  const call = (options: InjectOptions, token = admin) =>
    app.inject({
      ...options,
      url: `${options.url}${String(options.url).includes('?') ? '&' : '?'}api_key=${KEY}`,
      headers: { authorization: token, 'stream-auth-type': 'jwt' },
    })

  /** Asserts Stream's 400 body, that `detail` matches, and that `exception_fields` names `field`. */
  const rejected = (res: { statusCode: number; json(): unknown }, detail: RegExp, field: string) => {
    const body = res.json() as Record<string, unknown>
    assert.equal(res.statusCode, 400, JSON.stringify(body))
    assert.equal(body.code, 4)
    assert.equal(body.exception, 'InputException')
    assert.equal(body.status_code, 400)
    assert.match(String(body.duration), /^\d+\.\d\dms$/)
    assert.match(String(body.detail), detail)
    assert.ok((body.exception_fields as Record<string, string[]>)?.[field], JSON.stringify(body))
  }

  it('names an unknown field and what is allowed', async () => {
    const res = await call({
      method: 'POST',
      url: '/api/v1.0/feed/timeline/alice/follows/',
      payload: { target: 'user:bob', nope: 1 },
    })
    rejected(
      res,
      /^a follow does not accept the field nope; allowed: target, activity_copy_limit, target_token/,
      'nope',
    )
  })

  it('answers a caller without a valid token 401 before saying anything about its body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1.0/feed/timeline/alice/follows/?api_key=${KEY}`,
      payload: { nope: 1 },
    })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json().exception, 'SignatureException')
  })

  it('refuses a repeated query parameter by name', async () => {
    const res = await call({ url: '/api/v1.0/feed/user/alice/?limit=1&limit=2' })
    rejected(res, /^query parameter limit must be given once/, 'limit')
  })

  it('says what the body must be, and where in it', async () => {
    rejected(
      await call({ method: 'POST', url: '/api/v1.0/follow_many/', payload: { source: 'a:1' } }),
      /^the body must be a list of at most 2500 \{ source, target \}/,
      'body',
    )
    rejected(
      await call({
        method: 'POST',
        url: '/api/v1.0/feed/user/alice/',
        payload: { activities: [{ actor: 'a', verb: 'v', object: 'o' }, 'x'] },
      }),
      /^activities\[1\] must be an activity/,
      'activities[1]',
    )
    rejected(
      await call({
        method: 'POST',
        url: '/api/v1.0/activity/',
        payload: { changes: [{ id: 'x', sett: {} }] },
      }),
      /^a change does not accept the field sett/,
      'sett',
    )
    const targets = Array.from({ length: 101 }, () => ({ foreign_id: 'f', time: '2026-01-01T00:00:00' }))
    rejected(
      await call({
        method: 'POST',
        url: '/api/v1.0/feed_targets/user/alice/activity_to_targets/',
        payload: targets,
      }),
      /^the body must list 1 to 100 items, got 101/,
      'body',
    )
  })

  it('checks types without coercing them', async () => {
    rejected(
      await call({
        method: 'POST',
        url: '/api/v1.0/users/',
        payload: { users: [{ id: 'u1' }], override: 'true' },
      }),
      /^override must be a boolean/,
      'override',
    )
  })

  it('lets a user token leave the actor out, one activity or a batch: it acts as itself', async () => {
    const one = await call(
      { method: 'POST', url: '/api/v1.0/feed/user/alice/', payload: { verb: 'post', object: 'o:2' } },
      alice,
    )
    assert.equal(one.statusCode, 200, one.body)
    assert.equal(one.json().actor, 'SU:alice')
    const batch = await call(
      {
        method: 'POST',
        url: '/api/v1.0/feed/user/alice/',
        payload: { activities: [{ verb: 'post', object: 'o:3' }] },
      },
      alice,
    )
    assert.equal(batch.statusCode, 200, batch.body)
    assert.equal(batch.json().activities[0].actor, 'SU:alice')
    // A server token acts as nobody: the engine asks for the actor.
    const server = await call({
      method: 'POST',
      url: '/api/v1.0/feed/user/alice/',
      payload: { verb: 'post', object: 'o:4' },
    })
    rejected(server, /actor/, 'actor')
  })

  it('keeps what Stream accepts: custom fields, a single change, an empty reaction update', async () => {
    const added = await call(
      {
        method: 'POST',
        url: '/api/v1.0/feed/user/alice/',
        payload: {
          actor: 'SU:alice',
          verb: 'post',
          object: 'o:1',
          foreign_id: 'f:1',
          time: '2026-01-01T00:00:00',
          tags: ['x'],
        },
      },
      alice,
    )
    assert.equal(added.statusCode, 200, added.body)
    assert.deepEqual(added.json().tags, ['x'])
    const changed = await call(
      { method: 'POST', url: '/api/v1.0/activity/', payload: { id: added.json().id, set: { mood: 'ok' } } },
      alice,
    )
    assert.equal(changed.statusCode, 200, changed.body)
    assert.equal(changed.json().mood, 'ok')
    const reaction = await call(
      { method: 'POST', url: '/api/v1.0/reaction/', payload: { kind: 'like', activity_id: added.json().id } },
      alice,
    )
    assert.equal(reaction.statusCode, 200, reaction.body)
    const updated = await call({ method: 'PUT', url: `/api/v1.0/reaction/${reaction.json().id}/` }, alice)
    assert.equal(updated.statusCode, 200, updated.body)
  })
})
