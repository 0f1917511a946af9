/**
 * Link previews (`og/`) through the official `getstream` client, against pages served here on
 * loopback: Stream's answer with the operator switch on, and as the attacker with it off or
 * narrowed: loopback addresses, a redirect to 127.0.0.1, DNS rebinding to a private address,
 * huge pages, slow pages, binary downloads; and the cache.
 */
import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream from 'getstream'
import { failure } from './fixtures/http-status.js'
import { must } from './helpers.js'

const KEY = 'og-key'
const SECRET = 'og-secret'
type Api = ReturnType<typeof stream.connect>

const PAGE = `<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="A day at the lake">
<meta property="og:description" content="Pictures of the lake">
<meta property="og:site_name" content="Lakes">
<meta property="og:image" content="/lake.jpg">
<meta property="og:image:width" content="800">
<link rel="icon" href="/icon.png">
</head><body>hi</body></html>`

let hits = 0
let bodyBytesSent = 0

function pages(host: string, other: () => string): Promise<Server> {
  const server = createHttpServer((req, res) => {
    hits++
    if (req.url === '/page') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
    if (req.url === '/to-loopback') return res.writeHead(302, { location: `${other()}/page` }).end()
    if (req.url?.startsWith('/to-host/'))
      return res.writeHead(301, { location: decodeURIComponent(req.url.slice(9)) }).end()
    if (req.url === '/binary')
      return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(1000))
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.write(PAGE.replace('</head>', ''))
      const chunk = `<p>${'x'.repeat(64 * 1024)}</p>`
      // Up to 64 MiB, as fast as the reader takes it; a capped reader stops long before.
      let left = 1024
      const more = () => {
        while (left-- > 0) {
          bodyBytesSent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', more)
        }
        res.end()
      }
      res.on('close', () => {
        left = 0
      })
      return more()
    }
    if (req.url === '/slow') return res.writeHead(200, { 'content-type': 'text/html' }) // never ends
    res.writeHead(404).end()
  })
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)))
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port
}

async function eddy(og: object): Promise<{ app: FastifyInstance; alice: Api }> {
  const app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, uploads: { og } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const options = { urlOverride: { api: `http://127.0.0.1:${port(app.server)}/api/` } }
  const server = stream.connect(KEY, SECRET, 'app', options)
  return { app, alice: stream.connect(KEY, server.createUserToken('alice'), 'app', options) }
}

describe('og/ link previews', () => {
  let one: Server // 127.0.0.1: the "private" network
  let two: Server // 127.0.0.2: stands for a public site where a test allows only it
  const apps: FastifyInstance[] = []

  before(async () => {
    one = await pages('127.0.0.1', () => `http://127.0.0.2:${port(two)}`)
    two = await pages('127.0.0.2', () => `http://127.0.0.1:${port(one)}`)
  })
  after(async () => {
    for (const app of apps) await app.close()
    one.close()
    two.close()
  })

  it("answers Stream's preview fields when the operator allows private addresses", async () => {
    const { app, alice } = await eddy({ allowPrivate: true })
    apps.push(app)
    const url = `http://127.0.0.1:${port(one)}/page`
    // Eddy answers `original_url` too (Stream does), which getstream's type leaves out.
    const og = (await alice.og(url)) as Awaited<ReturnType<Api['og']>> & { original_url?: string }
    assert.equal(og.title, 'A day at the lake')
    assert.equal(og.description, 'Pictures of the lake')
    assert.equal(og.site_name, 'Lakes')
    assert.equal(og.original_url, url)
    assert.equal(og.favicon, `http://127.0.0.1:${port(one)}/icon.png`)
    assert.equal(must(og.images, 'the preview images')[0].image, `http://127.0.0.1:${port(one)}/lake.jpg`)
    assert.equal(must(og.images, 'the preview images')[0].width, 800)
    assert.equal(typeof og.duration, 'string')
    // Cached: the page is not fetched again.
    const before = hits
    await alice.og(url)
    assert.equal(hits, before)
    const binary = await failure(alice.og(`http://127.0.0.1:${port(one)}/binary`))
    assert.equal(binary.status, 400)
    assert.equal(binary.body.detail, "couldn't find og data for the provided url")
    assert.equal((await failure(alice.og('file:///etc/passwd'))).status, 400)
  })

  it('refuses loopback and private addresses by default, named by IP or by host name', async () => {
    const { app, alice } = await eddy({})
    apps.push(app)
    const before = hits
    for (const url of [
      `http://127.0.0.1:${port(one)}/page`,
      `http://localhost:${port(one)}/page`,
      `http://[::ffff:127.0.0.1]:${port(one)}/page`,
      `http://2130706433:${port(one)}/page`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const { status, body } = await failure(alice.og(url))
      assert.equal(status, 400, url)
      assert.match(JSON.stringify(body.exception_fields), /not a public address|not public/, url)
    }
    assert.equal(hits, before)
  })

  it('checks every redirect: a public page redirecting to 127.0.0.1 is refused', async () => {
    const { app, alice } = await eddy({ allowPrivate: ['127.0.0.2/32'] })
    apps.push(app)
    assert.equal((await alice.og(`http://127.0.0.2:${port(two)}/page`)).title, 'A day at the lake')
    const before = hits
    const { status, body } = await failure(alice.og(`http://127.0.0.2:${port(two)}/to-loopback`))
    assert.equal(status, 400)
    assert.match(JSON.stringify(body.exception_fields), /127\.0\.0\.1 is not a public address/)
    assert.equal(hits, before + 1) // the redirect only; 127.0.0.1 was never asked
  })

  it('connects to the address it checked: DNS rebinding to a private address is refused', async () => {
    const answers: Record<string, string[][]> = {
      'rebind.test': [['127.0.0.2'], ['127.0.0.1']],
      'mixed.test': [['127.0.0.2', '10.0.0.7']],
    }
    const resolve = (host: string, _o: unknown, cb: (e: Error | null, a: LookupAddress[]) => void) => {
      const next = answers[host]?.shift() ?? answers[host]?.[0] ?? []
      cb(
        null,
        next.map((address) => ({ address, family: 4 })),
      )
    }
    const { app, alice } = await eddy({ allowPrivate: ['127.0.0.2/32'], resolve })
    apps.push(app)
    // First answer public: fetched from 127.0.0.2. Then it redirects to the same name, which now
    // resolves to 127.0.0.1: refused, never connected.
    const url = `http://rebind.test:${port(two)}/to-host/${encodeURIComponent(`http://rebind.test:${port(one)}/page`)}`
    const before = hits
    const { body } = await failure(alice.og(url))
    assert.match(
      JSON.stringify(body.exception_fields),
      /rebind\.test resolves to an address that is not public/,
    )
    assert.equal(hits, before + 1)
    const mixed = await failure(alice.og(`http://mixed.test:${port(two)}/page`))
    assert.match(
      JSON.stringify(mixed.body.exception_fields),
      /mixed\.test resolves to an address that is not public/,
    )
    assert.doesNotMatch(JSON.stringify(mixed.body), /10\.0\.0\.7/)
  })

  it('reads at most the byte cap of a huge page, and gives up on a slow one at the deadline', async () => {
    const { app, alice } = await eddy({ allowPrivate: true, maxBytes: 256 * 1024, timeoutMs: 800 })
    apps.push(app)
    const og = await alice.og(`http://127.0.0.1:${port(one)}/huge`)
    assert.equal(og.title, 'A day at the lake')
    await new Promise((r) => setTimeout(r, 200))
    assert.ok(bodyBytesSent < 16 * 1024 * 1024, `the page server sent ${bodyBytesSent} bytes`)
    const started = performance.now()
    const slow = await failure(alice.og(`http://127.0.0.1:${port(one)}/slow`))
    assert.equal(slow.status, 400)
    assert.match(JSON.stringify(slow.body.exception_fields), /no answer within 800 ms/)
    assert.ok(performance.now() - started < 5000)
  })
})
