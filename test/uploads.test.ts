/**
 * Uploads through the official `getstream` client against the Eddy server: Stream's answers for
 * files/ and images/, processing, deletes with ownership, the served URLs and their headers; then
 * the attacks: oversized bodies, SVG and HTML, polyglots, path tricks in names and URLs, other
 * users' files, decompression bombs. The embedded client's files/images are checked the same way.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import sharp from 'sharp'
import { failure } from './fixtures/http-status.js'
import { startStreamServer } from './fixtures/stream-server.js'
import { must } from './helpers.js'

const KEY = 'uploads-key'
const SECRET = 'uploads-secret'
/** The official client, as these tests drive it. */
type Api = StreamClient

function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .png()
    .toBuffer()
}

/** A tiny PNG whose header claims `width`×`height`: a few bytes that would decode to gigabytes. */
async function pngBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await png(1, 1))
  bytes.writeUInt32BE(width, 16)
  bytes.writeUInt32BE(height, 20)
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29)
  return bytes
}

describe('uploads through the getstream client', () => {
  let app: FastifyInstance
  let client: EddyClient
  let base: string
  let server: Api
  let alice: Api
  let bob: Api
  const dir = mkdtempSync(join(tmpdir(), 'eddy-uploads-'))

  before(async () => {
    client = connect({
      store: 'memory',
      uploads: { store: `dir:${dir}`, maxImageBytes: 200_000, maxFileBytes: 300_000 },
    })
    const started = await startStreamServer(KEY, SECRET, { client })
    app = started.app
    base = started.origin
    server = started.api
    alice = started.user('alice')
    bob = started.user('bob')
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  it("uploads a file: { file, duration }, the URL ending in the name and '?', served as an attachment", async () => {
    const body = await alice.files.upload(Buffer.from('hello, world\n'), 'notes.txt', 'text/plain')
    assert.deepEqual(Object.keys(body).sort(), ['duration', 'file'])
    assert.ok(body.file.startsWith(`${base}/uploads/files/`), body.file)
    assert.ok(body.file.endsWith('notes.txt?'), body.file)
    const res = await fetch(body.file)
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'hello, world\n')
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="notes.txt"/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/)
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/)
    const again = await fetch(body.file, {
      headers: { 'if-none-match': must(res.headers.get('etag'), 'an etag header') },
    })
    assert.equal(again.status, 304)
  })

  it('uploads an image, serves it inline as image/png, and processes it as Stream does', async () => {
    const { file } = await alice.images.upload(await png(120, 80), 'red.png')
    const res = await fetch(file)
    assert.equal(res.headers.get('content-type'), 'image/png')
    assert.match(res.headers.get('content-disposition') ?? '', /^inline/)
    const thumb = await alice.images.thumbnail(file, 50, 50)
    assert.deepEqual(Object.keys(thumb).sort(), ['duration', 'file'])
    const clip = await sharp(Buffer.from(await (await fetch(thumb.file)).arrayBuffer())).metadata()
    assert.deepEqual([clip.width, clip.height], [50, 33]) // clip: fits inside, keeps the ratio
    const crop = await alice.images.process(file, { w: 75, h: 50, crop: 'bottom', resize: 'crop' })
    const cropped = await sharp(Buffer.from(await (await fetch(crop.file)).arrayBuffer())).metadata()
    assert.deepEqual([cropped.width, cropped.height], [75, 50])
    const scaled = await alice.images.process(file, { w: 140, h: 30, resize: 'scale' })
    const stretched = await sharp(Buffer.from(await (await fetch(scaled.file)).arrayBuffer())).metadata()
    assert.deepEqual([stretched.width, stretched.height], [140, 30])
    // The image URL takes the same parameters itself.
    const own = await fetch(`${file}w=10&h=10&resize=fill`)
    const filled = await sharp(Buffer.from(await own.arrayBuffer())).metadata()
    assert.deepEqual([filled.width, filled.height], [10, 10])
    for (const bad of [
      { crop: 'impossible', w: 5 },
      { w: -1 },
      { h: -1 },
      { w: 5, resize: 'impossible' },
      { w: 99999 },
    ])
      assert.equal((await failure(alice.images.process(file, bad))).status, 400, JSON.stringify(bad))
    assert.equal((await fetch(`${file}w=-3`)).status, 400)
  })

  it("refuses a text file as an image with Stream's message", async () => {
    const { status, body } = await failure(
      alice.images.upload(Buffer.from([0x36, 0x51, 0x1f, 0xc0, 0x8d]), 'x.jpg'),
    )
    assert.equal(status, 400)
    assert.equal(body.detail, 'File type application/octet-stream is not supported')
    assert.equal(body.code, 4)
  })

  it('deletes with ownership: another user 403, the owner 200, then 404; the server token may delete any', async () => {
    const { file } = await alice.files.upload(Buffer.from('mine'), 'a.txt')
    assert.equal((await failure(bob.files.delete(file))).status, 403)
    assert.equal(
      (await failure(bob.images.process(file.replace('/files/', '/images/'), { w: 5 }))).status,
      404,
    )
    const { file: image } = await alice.images.upload(await png(20, 20), 'p.png')
    assert.equal((await failure(bob.images.process(image, { w: 5, h: 5 }))).status, 403)
    assert.equal((await failure(bob.images.delete(`${image}w=5&h=5`))).status, 403)
    assert.deepEqual(Object.keys(await alice.files.delete(file)), ['duration'])
    assert.equal((await failure(alice.files.delete(file))).status, 404)
    assert.equal((await fetch(file)).status, 404)
    await server.images.delete(image)
    assert.equal((await fetch(image)).status, 404)
    const { file: appFile } = await server.files.upload(Buffer.from('app'), 'app.txt')
    assert.equal((await failure(alice.files.delete(appFile))).status, 403)
  })

  it('refuses oversized uploads with 413 and stores nothing', async () => {
    const before = readdirSync(join(dir, 'images')).length
    const big = await failure(alice.images.upload(Buffer.alloc(250_000, 1), 'big.png'))
    assert.equal(big.status, 413)
    assert.equal(big.body.exception, 'InputException')
    assert.equal((await failure(alice.files.upload(Buffer.alloc(3_000_000, 1), 'big.bin'))).status, 413)
    assert.equal(readdirSync(join(dir, 'images')).length, before)
  })

  it('refuses SVG as an image, and serves SVG and HTML files as text that runs nothing', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    )
    const refused = await failure(alice.images.upload(svg, 'evil.svg'))
    assert.equal(refused.body.detail, 'File type image/svg+xml is not supported')
    for (const [name, bytes] of [
      ['evil.svg', svg],
      ['evil.html', Buffer.from('<!doctype html><script>fetch("/api/v1.0/feed/user/alice/")</script>')],
    ] as const) {
      const { file } = await alice.files.upload(bytes, name, 'text/html')
      const res = await fetch(file)
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8', name)
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment/)
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/)
    }
  })

  it('refuses a polyglot (an image header over script) as an image, and never serves it as markup', async () => {
    const polyglot = Buffer.concat([
      Buffer.from('GIF89a'),
      Buffer.from('/*<html><script>alert(1)</script>*/'),
    ])
    assert.equal((await failure(alice.images.upload(polyglot, 'poly.gif'))).status, 400)
    const { file } = await alice.files.upload(polyglot, 'poly.html')
    const res = await fetch(file)
    assert.equal(res.headers.get('content-type'), 'image/gif')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/)
  })

  it('refuses decompression bombs before decoding them', async () => {
    const started = performance.now()
    const bomb = await failure(alice.images.upload(await pngBomb(100_000, 100_000), 'bomb.png'))
    assert.equal(bomb.status, 400)
    assert.match(String(bomb.body.detail), /100000x100000; images may have at most 40000000 pixels/)
    assert.equal((await failure(alice.images.upload(await pngBomb(7000, 7000), 'bomb2.png'))).status, 400)
    assert.ok(performance.now() - started < 5000)
  })

  it('keeps only the last segment of a name, and ignores path tricks in URLs', async () => {
    const { file } = await alice.files.upload(Buffer.from('x'), '../../../etc/passwd')
    assert.ok(file.endsWith('/passwd?'), file)
    const { file: win } = await alice.files.upload(Buffer.from('x'), '..\\..\\boot.ini')
    assert.ok(win.endsWith('/boot.ini?'), win)
    const { file: dots } = await alice.files.upload(Buffer.from('x'), '..')
    assert.ok(dots.endsWith('/file?'), dots)
    const { file: odd } = await alice.files.upload(Buffer.from('x'), 'a"b;c%2f?.txt')
    assert.equal(new URL(odd).pathname.split('/').length, 5, odd)
    // Only ids and kind directories exist in the store, whatever the names were.
    for (const kind of readdirSync(dir)) assert.ok(['files', 'images'].includes(kind), kind)
    for (const name of readdirSync(join(dir, 'files'))) assert.match(name, /^[0-9a-f-]{36}(\.json)?$/)
    for (const url of ['/uploads/files/../../x', `/uploads/files/${'a'.repeat(36)}/x`, '/etc/passwd'])
      assert.equal((await failure(alice.files.delete(`${base}${url}`))).status, 400, url)
    assert.equal((await fetch(`${base}/uploads/files/..%2F..%2Fetc/passwd`)).status, 404)
    const id = new URL(file).pathname.split('/')[3]
    assert.equal((await fetch(`${base}/uploads/files/${id}/other-name`)).status, 404)
    assert.equal((await fetch(`${base}/uploads/images/${id}/passwd`)).status, 404)
  })

  it('needs a token to upload, and a multipart body with a file field', async () => {
    const res = await fetch(`${base}/api/v1.0/files/?api_key=${KEY}`, {
      method: 'POST',
      body: new FormData(),
    })
    assert.equal(res.status, 401)
    const token = server.createUserToken('alice')
    const headers = { authorization: token, 'stream-auth-type': 'jwt' }
    const json = await fetch(`${base}/api/v1.0/files/?api_key=${KEY}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"file":"x"}',
    })
    assert.equal(json.status, 400)
    const form = new FormData()
    form.append('other', new Blob(['x']), 'x.txt')
    const wrong = await fetch(`${base}/api/v1.0/files/?api_key=${KEY}`, {
      method: 'POST',
      headers,
      body: form,
    })
    assert.equal(wrong.status, 400)
    assert.match(((await wrong.json()) as { detail: string }).detail, /field "file"/)
  })
})

describe('the embedded client', () => {
  it('has files, images and serveUpload, with the same ownership rules', async () => {
    const client = connect({ store: 'memory', uploads: { publicUrl: 'https://cdn.example.com/' } })
    try {
      const { file } = await client.images.upload(await png(40, 20), 'pic.png', undefined, {
        userId: 'alice',
      })
      assert.ok(file.startsWith('https://cdn.example.com/uploads/images/') && file.endsWith('pic.png?'))
      const thumb = await client.images.thumbnail(file, 10, 10)
      const served = await client.serveUpload(thumb.file)
      assert.equal(served.status, 200)
      assert.equal(served.headers['content-type'], 'image/png')
      assert.deepEqual((await sharp(must(served.body, 'the served image bytes')).metadata()).width, 10)
      const e = (await client.images.delete(file, { userId: 'bob' }).catch((error) => error)) as {
        status_code: number
      }
      assert.equal(e.status_code, 403)
      await client.images.delete(file, { userId: 'alice' })
      assert.equal((await client.serveUpload(file)).status, 404)
      const { file: doc } = await client.files.upload(new Blob(['hi']), 'hi.txt')
      assert.equal(must((await client.serveUpload(doc)).body, 'the served file bytes').toString(), 'hi')
    } finally {
      await client.close()
    }
  })
})
