/**
 * CORS: preflights for every method and header the official client sends, the headers on actual
 * requests (errors included, so a browser app can read them), a list of origins, and off.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream from 'getstream'
import { must } from './helpers.js'

const KEY = 'cors-key'
const SECRET = 'cors-secret'
const APP_ORIGIN = 'http://app.example.test:5173'
const HEADERS = 'authorization,stream-auth-type,x-stream-client,content-type'
const token = stream.connect(KEY, SECRET).createUserToken('alice')

function preflight(app: FastifyInstance, method: string, url: string, origin = APP_ORIGIN) {
  return app.inject({
    method: 'OPTIONS',
    url,
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': HEADERS },
  })
}

const streamHeaders = (origin = APP_ORIGIN) => ({
  origin,
  authorization: token,
  'stream-auth-type': 'jwt',
  'x-stream-client': 'stream-javascript-client-browser-7.4.1',
})

describe('CORS, default (any origin)', () => {
  let app: FastifyInstance
  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    await app.ready()
  })
  after(() => app.close())

  it('answers preflights for every method and header the client sends', async () => {
    for (const [method, url] of [
      ['GET', `/api/v1.0/enrich/feed/user/alice/?api_key=${KEY}`],
      ['POST', `/api/v1.0/feed/user/alice/?api_key=${KEY}`],
      ['DELETE', `/api/v1.0/feed/user/alice/some-id/?api_key=${KEY}`],
      ['PUT', `/api/v1.0/reaction/some-id/?api_key=${KEY}`],
      ['PATCH', `/api/v1.0/user/alice/?api_key=${KEY}`],
      ['POST', `/api/v1.0/images/?api_key=${KEY}`],
    ]) {
      const res = await preflight(app, method, url)
      assert.equal(res.statusCode, 204, `${method} ${url}`)
      assert.equal(res.headers['access-control-allow-origin'], '*')
      assert.ok(String(res.headers['access-control-allow-methods']).split(/, */).includes(method))
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(/, */)
      for (const h of HEADERS.split(',')) assert.ok(allowed.includes(h), `${h} allowed`)
      assert.equal(res.headers['access-control-allow-credentials'], undefined)
    }
  })

  it('sends the headers on actual requests, errors included', async () => {
    const add = await app.inject({
      method: 'POST',
      url: `/api/v1.0/feed/user/alice/?api_key=${KEY}`,
      headers: { ...streamHeaders(), 'content-type': 'application/json' },
      payload: { actor: 'SU:alice', verb: 'post', object: 'o:1' },
    })
    assert.equal(add.statusCode, 200)
    assert.equal(add.headers['access-control-allow-origin'], '*')
    const read = await app.inject({
      method: 'GET',
      url: `/api/v1.0/feed/user/alice/?api_key=${KEY}`,
      headers: streamHeaders(),
    })
    assert.equal(read.statusCode, 200)
    assert.equal(read.json().results.length, 1)
    assert.equal(read.headers['access-control-allow-origin'], '*')
    const refused = await app.inject({
      method: 'GET',
      url: `/api/v1.0/feed/timeline/bob/?api_key=${KEY}`,
      headers: streamHeaders(),
    })
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.headers['access-control-allow-origin'], '*')
  })
})

describe('CORS, a list of origins', () => {
  let app: FastifyInstance
  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, cors: [APP_ORIGIN] })
    await app.ready()
  })
  after(() => app.close())

  it('allows a listed origin and no other', async () => {
    const url = `/api/v1.0/feed/user/alice/?api_key=${KEY}`
    const ok = await preflight(app, 'POST', url)
    assert.equal(ok.headers['access-control-allow-origin'], APP_ORIGIN)
    assert.match(String(ok.headers.vary), /origin/i)
    const other = await preflight(app, 'POST', url, 'https://evil.example.test')
    assert.equal(other.headers['access-control-allow-origin'], undefined)
    const read = await app.inject({ method: 'GET', url, headers: streamHeaders('https://evil.example.test') })
    assert.equal(read.headers['access-control-allow-origin'], undefined)
  })
})

describe('CORS option', () => {
  it('false sends no CORS headers', async () => {
    const app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, cors: false })
    try {
      const res = await preflight(app, 'GET', `/api/v1.0/feed/user/alice/?api_key=${KEY}`)
      assert.equal(res.headers['access-control-allow-origin'], undefined)
    } finally {
      await app.close()
    }
  })

  it('rejects a bad value, naming the field and echoing the value', () => {
    assert.throws(
      () => createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, cors: ['app.example.test'] }),
      (e: { message: string; exception?: string }) =>
        e.exception === 'InputException' && /cors/.test(e.message) && /app\.example\.test/.test(e.message),
    )
  })
})

describe('eddy serve --cors', () => {
  const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
  const NODE_ARGS = [
    '--conditions=eddy-source',
    '--import',
    'tsx',
    CLI,
    'serve',
    '--store',
    'memory',
    '--port',
    '0',
  ]
  const env = { ...process.env, EDDY_API_KEY: KEY, EDDY_API_SECRET: SECRET }

  it('allows only the listed origins, and prints the Faye URL', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, '--cors', APP_ORIGIN], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let line = ''
      for await (const l of createInterface({ input: child.stdout })) {
        if (l.startsWith('connect:')) {
          line = l
          break
        }
      }
      const api = must(/urlOverride: \{ api: '([^']+)' \}/.exec(line), 'the connect line')[1]
      assert.match(line, /fayeUrl: 'http:\/\/127\.0\.0\.1:\d+\/faye'/)
      const ask = (origin: string) =>
        fetch(`${api}v1.0/feed/user/alice/?api_key=${KEY}`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': HEADERS,
          },
        })
      assert.equal((await ask(APP_ORIGIN)).headers.get('access-control-allow-origin'), APP_ORIGIN)
      assert.equal((await ask('https://evil.example.test')).headers.get('access-control-allow-origin'), null)
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  })

  it('refuses a bad origin with a message naming cors', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, '--cors', 'app.example.test'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const [code] = await once(child, 'exit')
    assert.equal(code, 2)
    assert.match(stderr, /cors/)
    assert.match(stderr, /app\.example\.test/)
  })
})
