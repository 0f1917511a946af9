/** Users, collections and enrichment through the official client (stream-api.md §3.2, §3.7). */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import { status } from './fixtures/http-status.js'
import { startStreamServer } from './fixtures/stream-server.js'
import { must } from './helpers.js'

const KEY = 'docs-key'
const SECRET = 'docs-secret'
const ZERO = '00000000-0000-0000-0000-000000000000'

/** The official client, as these tests drive it. */
type Api = StreamClient

function withoutDuration(body: object): Record<string, unknown> {
  const { duration, ...rest } = body as Record<string, unknown>
  assert.equal(typeof duration, 'string')
  return rest
}

/** The server-side methods getstream types as optional (they exist with a secret). */
type ServerApi = StreamClient & Required<Pick<StreamClient, 'addUsers' | 'getUsers' | 'deleteUsers'>>

/** An enriched activity as the wire carries it: references replaced by the objects (or errors) they name. */
interface Enriched {
  actor: { id: string; data: { name?: string } }
  object: { id?: string; collection?: string; data: { name?: string }; actor: { id: string } }
  missingUser?: object
  missingObject?: object
  missingActivity: { reference_type: string }
  missingReaction: { reference_type: string }
}

describe('users, collections and enrichment', () => {
  let app: FastifyInstance
  let api: Api
  let alice: Api
  let bob: Api

  before(async () => {
    const started = await startStreamServer(KEY, SECRET, { store: 'sqlite::memory:' })
    app = started.app
    api = started.api
    alice = started.user('alice')
    bob = started.user('bob')
  })
  after(() => app.close())

  it('creates, gets, updates and deletes users like Stream', async () => {
    const created = await alice.user('alice').create({ name: 'Alice' })
    assert.deepEqual(Object.keys(must(created.full, 'the created user')).sort(), [
      'created_at',
      'data',
      'id',
      'updated_at',
    ])
    assert.equal(await status(alice.user('alice').create({ name: 'Again' })), 409)
    const again = await alice.user('alice').getOrCreate({ name: 'Ignored' })
    assert.deepEqual(again.data, { name: 'Alice' })
    assert.equal(await status(alice.user('alice').update('text' as never)), 400)
    const updated = await alice.user('alice').update({ name: 'Alice B' })
    assert.deepEqual(updated.data, { name: 'Alice B' })
    await api.feed('timeline', 'alice').follow('user', 'carl')
    await api.feed('timeline', 'dave').follow('user', 'alice')
    await api.feed('notification', 'erin').follow('user', 'alice')
    const profile = await bob.user('alice').profile()
    assert.equal(must(profile.full, 'the profile').following_count, 1)
    assert.equal(must(profile.full, 'the profile').followers_count, 2)
    assert.equal(await status(bob.user('nobody').get()), 404)
    await alice.user('alice').delete()
    assert.equal(await status(alice.user('alice').get()), 404)
  })

  it('adds, gets and deletes users in batches', async () => {
    const { created_users } = await (api as ServerApi).addUsers(
      [
        { id: 'u1', data: { n: 1 } },
        { id: 'u2', data: { n: 2 } },
      ] as never,
      true,
    )
    assert.equal(created_users.length, 2)
    assert.equal((await (api as ServerApi).getUsers(['u1', 'u2', 'u3'])).users.length, 2)
    await (api as ServerApi).deleteUsers(['u1', 'u2'])
    assert.equal((await (api as ServerApi).getUsers(['u1', 'u2'])).users.length, 0)
    // Logged as each user's own change, as the single-user routes log it.
    const log = await api.auditLogs.filter({ entity_type: 'user', entity_id: 'u1' })
    assert.deepEqual(
      log.audit_logs.map((l: { action: string; user_id: string }) => [l.action, l.user_id]),
      [
        ['deleted', 'u1'],
        ['created', 'u1'],
      ],
    )
  })

  it('handles collection entries with ownership, conflicts and validation', async () => {
    const burger = await alice.collections.add('food', 'cheeseburger', { name: 'Cheese Burger' })
    assert.deepEqual(Object.keys(withoutDuration(must(burger.full, 'the entry') as object)).sort(), [
      'collection',
      'created_at',
      'data',
      'foreign_id',
      'id',
      'updated_at',
    ])
    assert.equal((must(burger.full, 'the entry') as { foreign_id?: string }).foreign_id, 'food:cheeseburger')
    assert.equal((await bob.collections.get('food', 'cheeseburger')).data?.name, 'Cheese Burger')
    assert.equal(await status(bob.collections.add('food', 'cheeseburger', { name: 'x' })), 409)
    assert.equal(await status(bob.collections.update('food', 'cheeseburger', { name: 'x' })), 403)
    assert.equal(
      (await alice.collections.update('food', 'cheeseburger', { name: 'Better' })).data?.name,
      'Better',
    )
    const changeId = alice.collections.client.put({
      url: alice.collections.buildURL('food', 'cheeseburger'),
      body: { id: 1234, data: { name: 'x' } },
      token: alice.collections.token,
    })
    assert.equal(await status(changeId), 400)
    assert.equal(await status(bob.collections.delete('food', 'cheeseburger')), 403)
    assert.deepEqual(withoutDuration(await alice.collections.delete('food', 'cheeseburger')), {})
    assert.equal(await status(alice.collections.get('food', 'cheeseburger')), 404)
    assert.equal(await status(alice.collections.add('food', 'cheeseburger', { name: 'Back' })), 200)
    assert.equal(await status(alice.collections.add('food', '!abcdee!', {})), 400)
    assert.equal(await status(alice.collections.add('food', null, 'some string' as never)), 400)
    assert.equal(await status(alice.collections.add('food', null, {})), 400)
    const generated = await alice.collections.add('food', null, { name: 'Fries' })
    assert.equal(generated.id.length, 36)
  })

  it('upserts, selects and deletes many entries with the secret', async () => {
    await api.collections.upsert('drinks', [
      { id: 'cola', name: 'Cola' },
      { id: 'tea', name: 'Tea' },
    ])
    const selected = await api.collections.select('drinks', ['cola', 'tea', 'nope'])
    const entries = (selected as unknown as { response: { data: { id: string; data: { name: string } }[] } })
      .response.data
    assert.deepEqual(entries.map((e) => e.data.name).sort(), ['Cola', 'Tea'])
    await api.collections.deleteMany('drinks', ['cola'])
    assert.equal(await status(api.collections.get('drinks', 'cola')), 404)
  })

  it('enriches SU, SO and SA references and reports missing ones', async () => {
    await bob.user('bob').getOrCreate({ name: 'Bob' })
    const pizza = await bob.collections.add('food', 'pizza', { name: 'Pizza' })
    const first = await bob.feed('user', 'bob').addActivity({ verb: 'eat', object: pizza } as never)
    await bob.feed('user', 'bob').addActivity({
      verb: 'share',
      object: `SA:${first.id}`,
      missingUser: 'SU:ghost',
      missingObject: 'SO:food:ghost',
      missingActivity: `SA:${ZERO}`,
      missingReaction: `SR:${ZERO}`,
    } as never)
    const { results, next } = await alice.feed('user', 'bob').get({ limit: 10 })
    assert.equal(next, '')
    const [shared, eaten] = results as unknown as Enriched[]
    assert.equal(eaten.actor.data.name, 'Bob')
    assert.equal(eaten.object.collection, 'food')
    assert.equal(eaten.object.data.name, 'Pizza')
    assert.equal(shared.object.id, first.id)
    assert.equal(shared.object.actor.id, 'bob', 'embedded activities are enriched too')
    assert.deepEqual(shared.missingUser, {
      error: 'ReferenceNotFound',
      reference: 'SU:ghost',
      reference_type: 'user',
      id: 'ghost',
    })
    assert.deepEqual(shared.missingObject, {
      collection: 'food',
      id: 'ghost',
      error: 'ReferenceNotFound',
      reference: 'SO:food:ghost',
      reference_type: 'object',
    })
    assert.equal(shared.missingActivity.reference_type, 'activity')
    assert.equal(shared.missingReaction.reference_type, 'reaction')
    const enriched = await api.getActivities({ ids: [first.id], enrich: true } as never)
    assert.equal((enriched.results[0] as unknown as Enriched).actor.id, 'bob')
    const plain = await api.getActivities({ ids: [first.id] })
    assert.equal(plain.results[0].actor, 'SU:bob')
  })
})
