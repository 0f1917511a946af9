/**
 * Strict tokens, as an attacker tries to slip variants of a token past verification: whitespace
 * inside a segment, a non-canonical last character (spare bits set), `=` padding, other
 * characters. Lenient base64 decoding made each of these verify as the original token, each in
 * its own cache slot. Only the canonical text verifies now, so variants are 401 code 3 and never
 * reach the token cache.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import { Authenticator, isCanonicalJwt, MAX_TOKEN_LENGTH } from '../../src/server/auth.js'
import { must } from '../helpers.js'

const KEY = 'tokens-key'
const SECRET = 'tokens-secret'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The official client, as these tests drive it. */
type Api = StreamClient

/**
 * Texts a lenient decoder reads as the same token: the last character of the signature with the
 * same meaningful bits (HS256 signatures are 32 bytes, 43 characters: 2 spare bits at the end),
 * whitespace inside segments, padding. (Whitespace around the whole header value is not part of
 * it: HTTP strips it before anyone sees the token.)
 */
function variants(token: string): string[] {
  const [h, p, s] = token.split('.')
  const last = ALPHABET.indexOf(must(s.at(-1), 'a signature character'))
  const sameBits = [0, 1, 2, 3].map((low) => ALPHABET[(last & ~3) | low]).filter((c) => c !== s.at(-1))
  return [
    ...sameBits.map((c) => `${h}.${p}.${s.slice(0, -1)}${c}`),
    `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`,
    `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`,
    `${h}.${p}.${s}=`,
    `${h}.${p.slice(0, 5)} ${p.slice(5)}.${s}`,
    `${h}.${p}.${s.slice(0, 20)}+${s.slice(21)}`,
    `${h}.${p}.${s}.`,
    `${h}..${p}.${s}`,
  ]
}

describe('only canonical compact JWTs verify', () => {
  let app: FastifyInstance
  let api: Api
  let url: string

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/`
    api = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: base } })
    url = `${base}v1.0/feed/user/mallory/?api_key=${KEY}`
  })
  after(() => app.close())

  const get = (authorization: string) =>
    fetch(url, { headers: { authorization, 'stream-auth-type': 'jwt' } }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as { code?: number; exception?: string; detail?: string },
    }))

  it('answers every variant of a valid user token with 401 SignatureException code 3', async () => {
    const token: string = api.createUserToken('mallory')
    assert.equal((await get(token)).status, 200)
    const all = variants(token)
    assert.equal(all.length, 10)
    for (const variant of all) {
      const { status, body } = await get(variant)
      assert.equal(status, 401, JSON.stringify(variant))
      assert.equal(body.code, 3)
      assert.equal(body.exception, 'SignatureException')
    }
    // The genuine token still works after the variants (and from the cache).
    assert.equal((await get(token)).status, 200)
  })

  it('refuses tokens longer than the limit', async () => {
    const token: string = api.createUserToken('mallory', { pad: 'x'.repeat(MAX_TOKEN_LENGTH) })
    assert.ok(token.length > MAX_TOKEN_LENGTH)
    const { status, body } = await get(token)
    assert.equal(status, 401)
    assert.match(body.detail ?? '', new RegExp(`at most ${MAX_TOKEN_LENGTH} characters`))
  })
})

describe('the token cache', () => {
  it('holds one entry per signed token, whatever variants arrive', async () => {
    const auth = new Authenticator(KEY, SECRET)
    const api: Api = stream.connect(KEY, SECRET, 'app')
    const token: string = api.createUserToken('mallory')
    const principal = await auth.authenticate(KEY, 'jwt', token)
    assert.deepEqual(principal, { kind: 'user', userId: 'mallory' })
    for (let round = 0; round < 50; round++) {
      for (const variant of variants(token)) {
        assert.equal(isCanonicalJwt(variant), false, variant)
        await assert.rejects(
          async () => auth.authenticate(KEY, 'jwt', variant),
          (e: { exception?: string }) => e.exception === 'SignatureException',
        )
      }
    }
    assert.equal(auth.cachedTokens, 1)
    // The genuine token is answered from the cache: synchronously, without a promise.
    assert.deepEqual(auth.authenticate(KEY, 'jwt', token), { kind: 'user', userId: 'mallory' })
  })

  it('accepts the tokens the official client signs', () => {
    const api: Api = stream.connect(KEY, SECRET, 'app')
    for (const token of [
      api.createUserToken('mallory'),
      api.getOrCreateToken(),
      api.getReadOnlyToken('user', 'bob'),
      api.getReadWriteToken('user', 'bob'),
    ]) {
      assert.equal(isCanonicalJwt(token), true, token)
    }
  })
})
