/**
 * Collection squatting, as an attacker with a user token tries it: create `products/sku-1`
 * before the app's server does, then rewrite the price after the server's catalogue upsert.
 * Ownership follows the last trusted write: a server upsert (or update) owns the entry, so the
 * user who created it first can no longer change or delete it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import { forbidden } from '../fixtures/attack.js'
import { startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'squat-key'
const SECRET = 'squat-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

for (const store of ['memory', 'sqlite::memory:']) {
  describe(`a server upsert owns the collection entry (${store})`, () => {
    let app: FastifyInstance
    let base: string
    let api: Api
    let mallory: Api

    before(async () => {
      const started = await startStreamServer(KEY, SECRET, { store })
      app = started.app
      base = started.base
      api = started.api
      mallory = started.user('mallory')
    })
    after(() => app.close())

    it('takes the entry from the user who created it first', async () => {
      await mallory.collections.add('products', 'sku-1', { price: 1 })
      await api.collections.upsert('products', [{ id: 'sku-1', price: 100, name: 'lamp' }])
      await forbidden(mallory.collections.update('products', 'sku-1', { price: 0 }))
      await forbidden(mallory.collections.delete('products', 'sku-1'))
      const token = api.createUserToken('mallory')
      const url = `${base}v1.0/collections/products/sku-1/?api_key=${KEY}`
      const headers = { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' }
      const put = await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ data: { price: 0 } }) })
      assert.equal(put.status, 403)
      assert.equal(((await put.json()) as { code?: number }).code, 17)
      assert.equal((await fetch(url, { method: 'DELETE', headers })).status, 403)
      const entry = await api.collections.get('products', 'sku-1')
      // An upserted entry's data is the whole object, its id included, as on Stream (stream-ruby's suite).
      assert.deepEqual(entry.data, { id: 'sku-1', price: 100, name: 'lamp' })
      // The server still changes it; the audit log names no user as the owner of its writes.
      await api.collections.update('products', 'sku-1', { price: 90 })
      assert.equal((await mallory.collections.get('products', 'sku-1')).data?.price, 90)
      const log = await api.auditLogs.filter({ entity_type: 'collection', entity_id: 'products:sku-1' })
      assert.deepEqual(
        // getstream types an entry's user as `userId`; the wire (and Stream) send `user_id`.
        (log.audit_logs as unknown as { action: string; user_id: string }[]).map((e) => [
          e.action,
          e.user_id,
        ]),
        [
          ['updated', ''],
          ['updated', ''],
          ['created', 'mallory'],
        ],
      )
    })

    it("takes the entry with a server's update too, and leaves others to their creator", async () => {
      await mallory.collections.add('products', 'sku-2', { price: 1 })
      await mallory.collections.update('products', 'sku-2', { price: 2 })
      await api.collections.update('products', 'sku-2', { price: 200 })
      await forbidden(mallory.collections.update('products', 'sku-2', { price: 0 }))
      await forbidden(mallory.collections.delete('products', 'sku-2'))
      assert.equal((await api.collections.get('products', 'sku-2')).data?.price, 200)
      // An entry no server wrote stays its creator's; a server's add for a user makes it that user's.
      await mallory.collections.add('notes', 'n-1', { text: 'mine' })
      await mallory.collections.update('notes', 'n-1', { text: 'still mine' })
      const forMallory = await fetch(`${base}v1.0/collections/notes/?api_key=${KEY}`, {
        method: 'POST',
        headers: {
          authorization: api.getOrCreateToken(),
          'stream-auth-type': 'jwt',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ id: 'n-2', data: { text: 'for mallory' }, user_id: 'mallory' }),
      })
      assert.equal(forMallory.status, 200)
      await mallory.collections.update('notes', 'n-2', { text: 'mine too' })
      await mallory.collections.delete('notes', 'n-1')
      await mallory.collections.delete('notes', 'n-2')
    })
  })
}
