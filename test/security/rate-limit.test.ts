/**
 * Rate limits like Stream's: per endpoint, per user and per API key, answered with Stream's 429
 * body and the X-Ratelimit-* headers, driven through the official client; off by default.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createServer, type RateLimitOptions } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type NewActivity, type StreamClient } from 'getstream'
import { parseRateLimit } from '../../src/server/rate-limit.js'
import { must, rejection } from '../helpers.js'

const KEY = 'limit-key'
const SECRET = 'limit-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** A listening server and official clients for the app, alice and bob. */
async function serve(rateLimit?: RateLimitOptions | false) {
  const app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, rateLimit })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/`
  const options = { urlOverride: { api: base } }
  const api: Api = stream.connect(KEY, SECRET, 'app', options)
  return {
    app,
    base,
    api,
    alice: stream.connect(KEY, api.createUserToken('alice'), 'app', options) as Api,
    bob: stream.connect(KEY, api.createUserToken('bob'), 'app', options) as Api,
  }
}

/** Asserts `promise` rejects with Stream's 429 body and headers; returns the headers. */
async function limited(promise: Promise<unknown>, limit: number): Promise<Record<string, string>> {
  const error = (await rejection(promise)) as unknown as {
    error: Record<string, unknown>
    response: { status: number; headers: Record<string, string> }
  }
  assert.equal(error.response.status, 429)
  const { code, exception, status_code, detail, duration, more_info } = error.error
  assert.deepEqual(
    { code, exception, status_code },
    { code: 9, exception: 'RateLimitReached', status_code: 429 },
  )
  assert.match(String(detail), new RegExp(`rate limit reached: ${limit} calls per 60 s to GET`))
  assert.match(String(duration), /^\d+\.\d\dms$/)
  assert.equal(more_info, 'https://getstream.io/docs/api_error_responses')
  const headers = error.response.headers
  assert.equal(headers['x-ratelimit-limit'], String(limit))
  assert.equal(headers['x-ratelimit-remaining'], '0')
  const reset = Number(headers['x-ratelimit-reset'])
  const now = Date.now() / 1000
  assert.ok(reset > now && reset <= now + 61, `reset ${reset} is within the window`)
  return headers
}

describe('rate limits', () => {
  const apps: FastifyInstance[] = []
  after(() => Promise.all(apps.map((a) => a.close())))

  it('throttles one user with a 429 after its budget, and not another user or another endpoint', async () => {
    const s = await serve({ perUser: 3 })
    apps.push(s.app)
    for (let i = 0; i < 3; i++) await s.alice.feed('user', 'alice').get()
    await limited(s.alice.feed('user', 'alice').get(), 3)
    // Bob has his own budget; alice's other endpoints have theirs; server tokens have no user budget.
    for (let i = 0; i < 3; i++) await s.bob.feed('user', 'alice').get()
    await s.alice.feed('user', 'alice').addActivity({ verb: 'post', object: 'o:1' } as NewActivity)
    for (let i = 0; i < 5; i++) await s.api.feed('user', 'alice').get()
  })

  it('sends X-Ratelimit-* headers on every limited response, counting down', async () => {
    const s = await serve({ perUser: 2, windowSeconds: 60 })
    apps.push(s.app)
    const token = s.api.createUserToken('carol')
    const url = `${s.base}v1.0/feed/user/carol/?api_key=${KEY}`
    const headers = { authorization: token, 'stream-auth-type': 'jwt' }
    const seen: [number, string | null, string | null][] = []
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url, { headers })
      seen.push([res.status, res.headers.get('x-ratelimit-limit'), res.headers.get('x-ratelimit-remaining')])
      assert.ok(Number(res.headers.get('x-ratelimit-reset')) > Date.now() / 1000)
    }
    assert.deepEqual(seen, [
      [200, '2', '1'],
      [200, '2', '0'],
      [429, '2', '0'],
    ])
  })

  it('throttles the whole API key per endpoint, whoever calls', async () => {
    const s = await serve({ perKey: 4, perUser: 100 })
    apps.push(s.app)
    // User clients read through enrich/feed/, the server client through feed/: two endpoints.
    await s.alice.feed('user', 'alice').get()
    await s.bob.feed('user', 'alice').get()
    await s.alice.feed('user', 'bob').get() // the same endpoint, another feed
    await s.bob.feed('user', 'bob').get()
    await limited(s.bob.feed('user', 'bob').get(), 4)
    await limited(s.alice.feed('user', 'alice').get(), 4)
    for (let i = 0; i < 4; i++) await s.api.feed('user', 'alice').get()
    await limited(s.api.feed('user', 'bob').get(), 4)
    // Other endpoints keep their own budget.
    await s.api.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:2' })
  })

  it('does not throttle by default, nor with rateLimit false, and sends no rate headers', async () => {
    for (const rateLimit of [undefined, false] as const) {
      const s = await serve(rateLimit)
      apps.push(s.app)
      for (let i = 0; i < 150; i++) await s.alice.feed('user', 'alice').get({ limit: 1 })
      const res = await s.app.inject({
        method: 'GET',
        url: `/api/v1.0/feed/user/alice/?api_key=${KEY}`,
        headers: { authorization: s.api.createUserToken('alice'), 'stream-auth-type': 'jwt' },
      })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['x-ratelimit-limit'], undefined)
    }
  })

  it('rejects bad settings with an InputException naming the field, and parses the --rate-limit flag', async () => {
    for (const [rateLimit, field] of [
      [{ perUser: -1 }, 'rateLimit.perUser'],
      [{ perKey: 1.5 }, 'rateLimit.perKey'],
      [{ windowSeconds: 0 }, 'rateLimit.windowSeconds'],
      [{ perMinute: 5 }, 'rateLimit'],
      ['60', 'rateLimit'],
    ] as const) {
      const error = await rejection(() =>
        createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, rateLimit: rateLimit as never }),
      )
      assert.equal(error.exception, 'InputException')
      assert.ok(error.detail.includes(field), error.detail)
    }
    assert.deepEqual(parseRateLimit('key=1000,user=60,window=30'), {
      perKey: 1000,
      perUser: 60,
      windowSeconds: 30,
    })
    assert.deepEqual(parseRateLimit('user=60'), { perUser: 60 })
    assert.equal(parseRateLimit('off'), undefined)
    assert.throws(() => parseRateLimit('users=60'), /--rate-limit takes key=<n>,user=<n>,window=<seconds>/)
  })

  it('takes its limits from eddy serve --rate-limit, over the --config file, and refuses a bad flag', async () => {
    const cli = new URL('../../src/cli/eddy.ts', import.meta.url).pathname
    const args = [
      '--conditions=eddy-source',
      '--import',
      'tsx',
      cli,
      'serve',
      '--port',
      '0',
      '--store',
      'memory',
    ]
    const config = join(mkdtempSync(join(tmpdir(), 'eddy-limit-')), 'eddy.json')
    writeFileSync(config, JSON.stringify({ rateLimit: { perUser: 50 } }))
    const env = { ...process.env, EDDY_API_KEY: KEY, EDDY_API_SECRET: SECRET }
    const child = spawn(process.execPath, [...args, '--config', config, '--rate-limit', 'user=1,window=60'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let url = ''
      for await (const line of createInterface({ input: must(child.stdout, 'the child stdout') })) {
        const match = /urlOverride: \{ api: '([^']+)' \}/.exec(line)
        if (match) {
          url = match[1]
          break
        }
      }
      const api: Api = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: url } })
      const carol: Api = stream.connect(KEY, api.createUserToken('carol'), 'app', {
        urlOverride: { api: url },
      })
      await carol.feed('user', 'carol').get()
      await limited(carol.feed('user', 'carol').get(), 1)
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
    await assert.rejects(
      promisify(execFile)(process.execPath, [...args, '--rate-limit', 'users=5'], { env }),
      (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2)
        assert.match(e.stderr, /--rate-limit takes key=<n>,user=<n>,window=<seconds> or off, got users=5/)
        return true
      },
    )
  })
})
