/**
 * The shared upload stores against services that speak their protocols: S3 (s3rver, an
 * S3-compatible server) and PostgreSQL (127.0.0.1:5432, schema eddy_uploads_test). Each keeps
 * bytes and metadata, answers a missing upload as missing, and deletes once; and two Eddy
 * servers on one store serve each other's uploads.
 */
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream from 'getstream'
import S3rver from 's3rver'
import { type BlobStore, newBlobId } from '../src/uploads/blobs.js'
import { PgBlobs } from '../src/uploads/pg-blobs.js'
import { S3Blobs } from '../src/uploads/s3-blobs.js'

const PG = 'postgres://postgres@127.0.0.1:5432/test'
let s3: { close(): Promise<void> }
let s3Endpoint = ''

before(async () => {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'eddy-s3-')),
    configureBuckets: [{ name: 'eddy-test', configs: [] }],
  })
  const address = (await server.run()) as AddressInfo
  s3Endpoint = `http://127.0.0.1:${address.port}`
  s3 = server
  // s3rver's fixed credentials, read by the AWS SDK's default chain as in production.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
})
after(() => s3.close())

const backends: { name: string; open: () => BlobStore; spec: () => string }[] = [
  {
    name: 's3',
    open: () =>
      new S3Blobs({ bucket: 'eddy-test', prefix: 'blobs/', endpoint: s3Endpoint, forcePathStyle: true }),
    spec: () => `s3://eddy-test/shared?endpoint=${encodeURIComponent(s3Endpoint)}&path_style=true`,
  },
  {
    name: 'postgres',
    open: () => new PgBlobs({ connectionString: PG, schema: 'eddy_uploads_test' }),
    spec: () => `${PG}?schema=eddy_uploads_test`,
  },
]

for (const backend of backends) {
  describe(`upload store: ${backend.name}`, () => {
    it('keeps bytes and metadata, reads a missing upload as missing, deletes once', async () => {
      const blobs = backend.open()
      try {
        const id = newBlobId()
        const meta = {
          kind: 'files' as const,
          id,
          name: 'naïve café.txt',
          type: 'text/plain',
          size: 3,
          owner: 'alice',
          created: new Date().toISOString(),
        }
        await blobs.put({ meta, bytes: Buffer.from([0, 1, 255]) })
        assert.deepEqual(await blobs.head('files', id), meta)
        const got = await blobs.get('files', id)
        assert.ok(got, 'the stored blob reads back')
        assert.deepEqual([...got.bytes], [0, 1, 255])
        assert.equal(await blobs.head('images', id), undefined)
        assert.equal(await blobs.get('files', newBlobId()), undefined)
        assert.equal(await blobs.delete('files', id), true)
        assert.equal(await blobs.delete('files', id), false)
        assert.equal(await blobs.head('files', id), undefined)
      } finally {
        await blobs.close()
      }
    })

    it('lets two servers on the store serve and delete what the other stored', async () => {
      const apps: FastifyInstance[] = []
      try {
        const clients = []
        for (let i = 0; i < 2; i++) {
          const app = createServer({
            store: 'memory',
            apiKey: 'k',
            apiSecret: 's',
            uploads: { store: backend.spec() },
          })
          apps.push(app)
          await app.listen({ port: 0, host: '127.0.0.1' })
          const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/`
          const token = stream.connect('k', 's', 'app').createUserToken('alice')
          clients.push(stream.connect('k', token, 'app', { urlOverride: { api } }))
        }
        const { file } = await clients[0].files.upload(Buffer.from('shared bytes'), 'shared.txt')
        const otherUrl = file.replace(/127\.0\.0\.1:\d+/, new URL(apps[1].listeningOrigin).host)
        assert.equal(await (await fetch(otherUrl)).text(), 'shared bytes')
        await clients[1].files.delete(file)
        assert.equal((await fetch(file)).status, 404)
      } finally {
        for (const app of apps) await app.close()
      }
    })
  })
}
