/**
 * Soft-deleted reactions, read by someone else with an ordinary user token: `GET reaction/:id/` and
 * `reaction/get_many/?include_deleted=true` showed them with their data to any token (added for
 * stream-python's suite, which reads its own deleted reaction with a server token). A deleted
 * reaction is now shown only to server tokens and to its own user; anyone else gets what a missing
 * reaction gets (404, or left out of get_many). docs/server.md, "Read privacy".
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import { type StreamServer, startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'deleted-key'
const SECRET = 'deleted-secret'
/** The official client, as these tests drive it. */
type Api = StreamClient

/** Stream's error, as the official client rejects with it. */
interface Refused {
  error?: { status_code?: number; exception?: string }
}

/** What `promise` rejects with (fails when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<Refused> {
  try {
    await promise
  } catch (error) {
    return error as Refused
  }
  assert.fail('expected a rejection')
}

describe('a soft-deleted reaction is readable only by a server token and its own user', () => {
  let app: FastifyInstance
  let base: string
  let api: Api
  let alice: Api
  let mallory: Api
  let started: StreamServer
  let deleted: { id: string }
  let live: { id: string }

  before(async () => {
    started = await startStreamServer(KEY, SECRET, { store: 'memory' })
    app = started.app
    base = started.base
    api = started.api
    alice = started.user('alice')
    mallory = started.user('mallory')
    const post = await api.feed('user', 'bob').addActivity({ actor: 'bob', verb: 'post', object: 'o:1' })
    deleted = await alice.reactions.add('comment', post.id, { text: 'my address is 1 Elm St' })
    live = await alice.reactions.add('like', post.id, { note: 'public' })
    const res = await fetch(`${base}v1.0/reaction/${deleted.id}/?api_key=${KEY}&soft=true`, {
      method: 'DELETE',
      headers: { authorization: started.token('alice'), 'stream-auth-type': 'jwt' },
    })
    assert.equal(res.status, 200)
  })
  after(() => app.close())

  const getMany = async (token: string, ids: string[]) => {
    const query = `ids=${ids.join(',')}&include_deleted=true&api_key=${KEY}`
    const res = await fetch(`${base}v1.0/reaction/get_many/?${query}`, {
      headers: { authorization: token, 'stream-auth-type': 'jwt' },
    })
    assert.equal(res.status, 200)
    return ((await res.json()) as { reactions: { id: string; data: object; deleted_at?: string }[] })
      .reactions
  }

  it("answers another user's read of a deleted reaction as a missing one: 404, and left out of get_many", async () => {
    const missing = await refusal(mallory.reactions.get('00000000-0000-0000-0000-000000000000'))
    const asked = await refusal(mallory.reactions.get(deleted.id))
    assert.equal(asked.error?.status_code, 404, JSON.stringify(asked.error ?? asked))
    assert.equal(asked.error?.exception, missing.error?.exception)
    assert.doesNotMatch(JSON.stringify(asked.error), /Elm St/)
    const many = await getMany(started.token('mallory'), [deleted.id, live.id])
    assert.deepEqual(
      many.map((r) => r.id),
      [live.id],
    )
    // The live reaction stays readable to anyone, as before.
    assert.equal((await mallory.reactions.get(live.id)).id, live.id)
  })

  it('shows it with deleted_at to its own user and to a server token', async () => {
    for (const [who, client] of [
      ['alice', alice],
      ['a server token', api],
    ] as const) {
      // Stream's reaction as read back, with the deleted_at getstream's typings leave out.
      const own = (await client.reactions.get(deleted.id)) as {
        id: string
        deleted_at?: string
        data: object
      }
      assert.equal(own.id, deleted.id, who)
      assert.ok(own.deleted_at, who)
      assert.deepEqual(own.data, { text: 'my address is 1 Elm St' }, who)
      const token = client === api ? client.getOrCreateToken() : started.token('alice')
      const many = await getMany(token, [deleted.id, live.id])
      assert.deepEqual(
        many.map((r) => r.id),
        [deleted.id, live.id],
        who,
      )
      assert.ok(many[0].deleted_at, who)
    }
  })
})
