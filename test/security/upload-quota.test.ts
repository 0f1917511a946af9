/**
 * Upload quotas and fair image work, as an attacker with a user token tries to exhaust them: one
 * user filling the disk (a quota of bytes per user per window, Stream's 429 past it, server tokens
 * exempt), and one caller keeping the image-resize queue full so no one else's image is ever
 * rendered (each caller waits in its own line, served in turn, with a few renders waiting at most).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServer, type ServerOptions } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import sharp from 'sharp'
import { DEFAULT_IMAGE_LIMITS, RenderQueue } from '../../src/uploads/images.js'
import { failure } from '../fixtures/http-status.js'
import { type StreamServer, startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'quota-key'
const SECRET = 'quota-secret'

/** A server on a free port with the official clients (the quota tests' keys). */
const start = (options: Omit<ServerOptions, 'apiKey' | 'apiSecret'>): Promise<StreamServer> =>
  startStreamServer(KEY, SECRET, options)

const bytes = (n: number) => Buffer.alloc(n, 'a')

describe('the upload quota: bytes per user per window', () => {
  let app: FastifyInstance
  let server: StreamClient
  let alice: StreamClient
  let bob: StreamClient

  before(async () => {
    const s = await start({ store: 'memory', uploadQuota: { perUser: 1000, windowSeconds: 3600 } })
    app = s.app
    server = s.api
    alice = s.user('alice')
    bob = s.user('bob')
  })
  after(() => app.close())

  it("refuses a user past the quota with Stream's 429, a clear message and Retry-After, keeping nothing", async () => {
    await alice.files.upload(bytes(600), 'a.txt')
    const refused = await failure(alice.files.upload(bytes(600), 'b.txt'))
    assert.equal(refused.status, 429)
    assert.equal(refused.body.code, 9)
    assert.equal(refused.body.exception, 'RateLimitReached')
    assert.match(
      String(refused.body.detail),
      /upload quota reached: alice may upload 1000 bytes per 3600 s \(files and images together\); 400 bytes left, this upload is 600; retry in \d+ s/,
    )
    assert.ok(Number(refused.headers['retry-after']) > 0)
    // The refused upload did not count: 400 bytes are still there to use, then nothing is.
    await alice.files.upload(bytes(400), 'c.txt')
    const empty = await failure(alice.files.upload(bytes(1), 'd.txt'))
    assert.equal(empty.status, 429)
    assert.match(String(empty.body.detail), /0 bytes left/)
  })

  it('counts each user on their own, and leaves server tokens out', async () => {
    await bob.files.upload(bytes(1000), 'b.txt')
    for (let i = 0; i < 3; i++) await server.files.upload(bytes(1000), `s${i}.txt`)
  })

  it('is checked when configured, and can be turned off', async () => {
    for (const uploadQuota of [{ perUser: -1 }, { perUser: 1.5 }, { windowSeconds: 0 }, { bogus: 1 }, 'lots'])
      assert.throws(
        () => createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, uploadQuota } as ServerOptions),
        /uploadQuota/,
      )
    const s = await start({ store: 'memory', uploadQuota: false })
    try {
      await s.user('carol').files.upload(bytes(2000), 'c.txt')
    } finally {
      await s.app.close()
    }
  })
})

describe('the render queue is fair between callers', () => {
  it('serves callers in turn, so a waiting caller goes before the rest of a flood', async () => {
    const queue = new RenderQueue({ ...DEFAULT_IMAGE_LIMITS, concurrency: 1, queuePerCaller: 4 })
    const done: string[] = []
    let release: () => void = () => undefined
    const blocker = queue.run('mallory', () => new Promise<void>((resolve) => (release = resolve)))
    const flood = [1, 2, 3, 4].map((i) => queue.run('mallory', async () => void done.push(`mallory ${i}`)))
    const bob = queue.run('bob', async () => void done.push('bob'))
    // A fifth waiting render is refused for mallory alone.
    await assert.rejects(
      queue.run('mallory', async () => undefined),
      (e: { exception?: string }) => {
        assert.equal(e.exception, 'RateLimitReached')
        return true
      },
    )
    assert.equal(queue.waiting, 5)
    release()
    await Promise.all([blocker, ...flood, bob])
    assert.deepEqual(done, ['mallory 1', 'bob', 'mallory 2', 'mallory 3', 'mallory 4'])
  })

  it("keeps rendering another user's image while one caller floods the public image URLs", async () => {
    const s = await start({
      store: 'memory',
      uploads: { images: { concurrency: 1, queue: 64, queuePerCaller: 4 } },
    })
    try {
      const bob = s.user('bob')
      const picture = await sharp({
        create: { width: 3000, height: 3000, channels: 3, background: { r: 9, g: 99, b: 199 } },
      })
        .png()
        .toBuffer()
      const { file } = await s.api.images.upload(picture, 'big.png', 'image/png')
      const small = await sharp(picture).resize(200).png().toBuffer()
      const own = await bob.images.upload(small, 'mine.png', 'image/png')
      const order: string[] = []
      let full: () => void = () => undefined
      const lineFull = new Promise<void>((resolve) => {
        full = resolve
      })
      // Each width is a new variant (no cache hit): 40 renders at once from one address.
      const flood = Array.from({ length: 40 }, (_, i) =>
        fetch(`${file}w=${100 + i}`).then((res) => {
          if (res.status === 200) order.push('flood')
          if (res.status === 429) full()
          return res.status
        }),
      )
      void Promise.all(flood).then(() => full())
      // Bob asks once the flood's line is full (its first 429): he is served in turn, not after it.
      await lineFull
      const processed = await bob.images.process(own.file, { w: 64, h: 64 })
      order.push('bob')
      const statuses = await Promise.all(flood)
      assert.match(processed.file, /w=64&h=64/)
      // The flood had one render running and its own few waiting; the rest were its 429s (never a 503).
      assert.ok(statuses.includes(429), String(statuses))
      assert.ok(
        statuses.every((x) => x === 200 || x === 429),
        String(statuses),
      )
      // Flood renders accepted before bob asked were still waiting when his was done.
      assert.ok(order.indexOf('bob') < order.length - 1, order.join(' '))
    } finally {
      await s.app.close()
    }
  })
})
