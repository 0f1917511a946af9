/**
 * Attacker tests of the Faye endpoint, which sits on the raw HTTP server outside Fastify's body
 * parser, with no token: every byte that enters is bounded (POST bodies, `message=` in the query,
 * WebSocket frames), malformed URLs and messages get an error instead of crashing the process
 * (a child `eddy serve`, so a crash shows as an exit), memory stays flat under a flood, and CORS
 * follows `cors` exactly as the REST routes do.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect as tcp } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import { prng } from '../fixtures/attack.js'
import { serveEddy, stopEddy } from '../fixtures/eddy-process.js'

const KEY = 'faye-key'
const SECRET = 'faye-secret'
const MiB = 1024 * 1024

/** Sends `head` and then `body` over a raw TCP connection; resolves with everything the server answered. */
async function raw(port: number, head: string, body: Buffer | string = ''): Promise<string> {
  const socket = tcp(port, '127.0.0.1')
  await once(socket, 'connect')
  const answer: Buffer[] = []
  socket.on('data', (chunk) => answer.push(chunk))
  socket.on('error', () => undefined)
  socket.end(Buffer.concat([Buffer.from(head), Buffer.from(body)]))
  await once(socket, 'close')
  return Buffer.concat(answer).toString('latin1')
}

/**
 * POSTs `total` bytes to `path` in 1 MiB chunks (one buffer, reused: the sender's memory stays
 * flat), chunked or with a Content-Length, until the server answers or closes. Resolves with the
 * status (0 when the connection closed without one) and how many bytes were handed to the socket.
 */
async function flood(
  port: number,
  path: string,
  total: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; sent: number }> {
  const chunk = Buffer.alloc(MiB, 'a')
  chunk.write('message=')
  const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false })
  let status = 0
  let done = false
  const finished = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      status = res.statusCode ?? 0
      done = true
      res.resume()
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', () => {
      done = true
      resolve()
    })
    req.on('close', () => {
      done = true
      resolve()
    })
  })
  let sent = 0
  while (!done && sent < total) {
    const more = req.write(chunk)
    sent += chunk.length
    if (!more) await Promise.race([new Promise((resolve) => req.once('drain', resolve)), finished])
  }
  if (!done) req.end()
  await finished
  req.destroy()
  return { status, sent }
}

/**
 * Asserts the server cut an upload of `total` bytes off: a 413, or (rarely, when the sender was
 * still writing as the connection ended) a connection closed long before the end; never the
 * answer to the whole body.
 */
function refused(result: { status: number; sent: number }, total: number): void {
  assert.ok(result.status === 413 || result.status === 0, `status ${result.status}`)
  assert.ok(result.sent <= total / 2, `the server stopped the upload (${result.sent} bytes sent)`)
}

/** A WebSocket handshake on /faye over a raw socket; resolves with the socket once the server switched protocols. */
async function webSocket(port: number, headers: Record<string, string> = {}) {
  const socket = tcp(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => undefined)
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
  socket.write(
    `GET /faye HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
  )
  const [first] = (await once(socket, 'data')) as [Buffer]
  return { socket, status: Number(/^HTTP\/1\.1 (\d+)/.exec(first.toString('latin1'))?.[1] ?? 0) }
}

/** The header of one masked text frame of `length` bytes (RFC 6455 §5.2), with a zero mask. */
function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(14)
  header[0] = 0x81
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(length), 2)
  return header // the mask (bytes 10..13) is zero: the payload goes as is
}

describe('Faye: no request crashes the server (a child eddy serve)', () => {
  let child: ChildProcess
  let base: string
  let port: number

  before(async () => {
    ;({ child, origin: base, port } = await serveEddy(KEY, SECRET))
  })

  after(async () => {
    assert.equal(await stopEddy(child), 0, 'the server exits cleanly on SIGTERM, so it was still running')
  })

  async function alive(what: string): Promise<void> {
    assert.equal(child.exitCode, null, `the server exited after ${what}`)
    const res = await fetch(`${base}/health`)
    assert.equal(res.status, 200, `health after ${what}`)
  }

  it('answers malformed request lines on the raw server instead of exiting', async () => {
    for (const target of ['//[', 'http://[', 'http://a:99999/faye', '/faye?message=%ZZ', '/faye/%ZZ']) {
      const answer = await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.match(answer, /^HTTP\/1\.1 [45]\d\d /, `GET ${target}: ${answer.slice(0, 80)}`)
      await alive(`GET ${target}`)
    }
  })

  it('refuses Bayeux messages that are not objects, nest too deep or come too many at once', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const many = JSON.stringify(
      Array.from({ length: 10_000 }, (_, i) => ({ channel: '/meta/handshake', id: `${i}` })),
    )
    const bodies: [string, string][] = [
      ['[1]', 'a number'],
      ['["x"]', 'a string'],
      ['[null]', 'null'],
      ['[[]]', 'a list in the list'],
      ['1', 'a bare number'],
      ['{"channel":5}', 'a channel that is not a string'],
      ['[{"channel":"/meta/subscribe","clientId":"x","subscription":{"a":1}}]', 'an object subscription'],
      ['[{"channel":"/meta/subscribe","clientId":"x","subscription":["/a","/b"],"ext":7}]', 'two channels'],
      [deep, '100,000 levels of lists'],
      [many, '10,000 messages in one request'],
      ['{not json', 'text that is not JSON'],
    ]
    for (const [body, what] of bodies) {
      const res = await fetch(`${base}/faye`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await res.arrayBuffer()
      await alive(what)
      if (what === 'an object subscription' || what === 'two channels') continue // Bayeux errors, 200
      assert.ok(res.status === 400 || res.status === 200, `${what}: ${res.status}`)
    }
    // The same through the query (JSON-P long polling) and the form encoding.
    const res = await fetch(`${base}/faye?message=${encodeURIComponent('[1]')}&jsonp=cb`)
    await res.arrayBuffer()
    await alive('message=[1] in the query')
    const form = await fetch(`${base}/faye`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `message=${encodeURIComponent(deep)}`,
    })
    assert.equal(form.status, 400)
    assert.match(await form.text(), /nest .* at most/)
    await alive('a deep form message')
  })

  it('survives a seeded fuzz of Bayeux fields of every type on every meta channel', async () => {
    const random = prng(17)
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]
    const values = [
      null,
      true,
      0,
      -1,
      1e308,
      2 ** 53,
      'x',
      '',
      '/meta/connect',
      [],
      [1, 'a'],
      {},
      { timeout: -5 },
      { timeout: 1e20 },
      { a: { b: [] } },
    ]
    const channels = [
      '/meta/handshake',
      '/meta/connect',
      '/meta/subscribe',
      '/meta/unsubscribe',
      '/meta/disconnect',
      '/meta/x',
      '/a',
      '/site-1-feed-userx',
    ]
    const fields = [
      'clientId',
      'subscription',
      'connectionType',
      'supportedConnectionTypes',
      'version',
      'advice',
      'ext',
      'id',
      'data',
    ]
    const [hello] = (await (
      await fetch(`${base}/faye`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          channel: '/meta/handshake',
          version: '1.0',
          supportedConnectionTypes: ['long-polling'],
        }),
      })
    ).json()) as { clientId: string }[]
    for (let round = 0; round < 60; round++) {
      const batch = Array.from({ length: 5 }, () => {
        const message: Record<string, unknown> = { channel: pick(channels) }
        for (const field of fields) if (random() < 0.5) message[field] = pick([...values, hello.clientId])
        // A connect never waits for messages here: its advice must not hold the request open.
        if (message.channel === '/meta/connect') message.clientId = 'nobody'
        return message
      })
      const res = await fetch(`${base}/faye`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      })
      assert.ok(res.status === 200 || res.status === 400, `round ${round}: ${res.status}`)
      await res.arrayBuffer()
    }
    await alive('the fuzz')
  })

  it('refuses a declared or streamed body over the limit with a 413, and stays up', async () => {
    const declared = await raw(
      port,
      `POST /faye HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${600 * MiB}\r\n\r\n`,
      '[',
    )
    assert.match(declared, /^HTTP\/1\.1 413 /)
    assert.match(declared, /Request body is too large/)
    const streamed = await flood(port, '/faye', 64 * MiB, {
      'content-type': 'application/x-www-form-urlencoded',
    })
    refused(streamed, 64 * MiB)
    await alive('a 64 MiB body')
  })

  it('closes a WebSocket whose message is over the limit (1009), and stays up', async () => {
    const { socket, status } = await webSocket(port)
    assert.equal(status, 101)
    const frames: Buffer[] = []
    socket.on('data', (chunk) => frames.push(chunk))
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(frameHeader(8 * MiB))
    const payload = Buffer.alloc(MiB, ' ')
    const drained = () =>
      new Promise<void>((resolve) => {
        socket.once('drain', resolve)
        socket.once('close', resolve)
      })
    for (let i = 0; i < 8 && !socket.destroyed; i++) {
      if (!socket.write(payload)) await drained()
    }
    // Before the limit, faye took messages up to 64 MiB: it read all 8 and kept the socket open.
    await closed
    const answer = Buffer.concat(frames)
    // The close frame can be lost when the server resets the socket under the upload.
    if (answer.length > 0) {
      assert.equal(answer[0], 0x88, 'the server sent a close frame, not a reply')
      assert.equal(answer.readUInt16BE(2), 1009, 'close code 1009: message too big')
    }
    await alive('an 8 MiB WebSocket message')
  })

  it('ends an upgrade on a path nobody serves instead of leaving the socket open', async () => {
    const answer = await raw(
      port,
      'GET /api/v1.0/feed/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    assert.match(answer, /^HTTP\/1\.1 404 /)
    await alive('an upgrade elsewhere')
  })
})

describe('Faye: memory stays flat under a flood of large bodies', () => {
  let app: FastifyInstance
  let port: number

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })
  after(() => app.close())

  it('keeps rss growth under 64 MiB while 4 clients send 96 MiB each', async () => {
    const base = process.memoryUsage().rss
    let peak = base
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 5)
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        flood(port, '/faye', 96 * MiB, { 'content-type': 'application/x-www-form-urlencoded' }),
      ),
    )
    clearInterval(sampler)
    peak = Math.max(peak, process.memoryUsage().rss)
    for (const r of results) refused(r, 96 * MiB)
    // Before the limit, the server held every byte (and then a copy and a string of it).
    assert.ok(peak - base < 64 * MiB, `rss grew by ${Math.round((peak - base) / MiB)} MiB`)
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    assert.equal(health.status, 200)
  })
})

describe('Faye obeys cors like the REST routes', () => {
  const ALLOWED = 'https://app.example.com'
  const EVIL = 'https://evil.example.net'
  let app: FastifyInstance
  let off: FastifyInstance
  let any: FastifyInstance

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, cors: [ALLOWED] })
    off = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, cors: false })
    any = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    for (const a of [app, off, any]) await a.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const a of [app, off, any]) await a.close()
  })

  const url = (a: FastifyInstance, path = '/faye') =>
    `http://127.0.0.1:${(a.server.address() as AddressInfo).port}${path}`
  const handshake = JSON.stringify([
    { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] },
  ])
  const preflight = (a: FastifyInstance, origin: string) =>
    fetch(url(a), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
  const post = (a: FastifyInstance, origin: string) =>
    fetch(url(a), {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: handshake,
    })

  it('answers an allowed origin with its own name (and credentials, as the Faye client sends them)', async () => {
    for (const res of [await preflight(app, ALLOWED), await post(app, ALLOWED)]) {
      assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED)
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
      await res.arrayBuffer()
    }
    const rest = await fetch(url(app, '/api/v1.0/health/'), { headers: { origin: ALLOWED } })
    assert.equal(rest.headers.get('access-control-allow-origin'), ALLOWED)
  })

  it('gives another origin no CORS headers and refuses its requests and WebSockets', async () => {
    const pre = await preflight(app, EVIL)
    assert.equal(pre.headers.get('access-control-allow-origin'), null)
    assert.equal(pre.headers.get('access-control-allow-credentials'), null)
    const res = await post(app, EVIL)
    assert.equal(res.status, 403)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.match(await res.text(), /origin https:\/\/evil\.example\.net is not allowed/)
    const jsonp = await fetch(`${url(app)}?message=${encodeURIComponent(handshake)}&jsonp=cb`, {
      headers: { origin: EVIL },
    })
    assert.equal(jsonp.status, 403)
    const port = (app.server.address() as AddressInfo).port
    const ws = await webSocket(port, { Origin: EVIL })
    assert.equal(ws.status, 403)
    ws.socket.destroy()
    const rest = await fetch(url(app, '/api/v1.0/health/'), { headers: { origin: EVIL } })
    assert.equal(rest.headers.get('access-control-allow-origin'), null)
    // No Origin (a server-side client) and the page's own origin are not cross-origin.
    const plain = await fetch(url(app), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: handshake,
    })
    assert.equal(plain.status, 200)
    assert.equal(((await plain.json()) as { successful: boolean }[])[0].successful, true)
    const own = await webSocket(port, { Origin: `http://127.0.0.1:${port}` })
    assert.equal(own.status, 101)
    own.socket.destroy()
  })

  it('sends no CORS headers with cors off, and any origin may call by default', async () => {
    const pre = await preflight(off, ALLOWED)
    assert.equal(pre.headers.get('access-control-allow-origin'), null)
    assert.equal((await post(off, ALLOWED)).status, 403)
    const open = await post(any, EVIL)
    assert.equal(open.status, 200)
    assert.equal(open.headers.get('access-control-allow-origin'), EVIL)
  })
})
