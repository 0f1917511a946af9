/**
 * Holes found by a review of issue 17's fixes, tried as an attacker with an ordinary user token
 * against a real server: ways around a rule that the fix's own tests did not take.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream from 'getstream'

const KEY = 'review-key'
const SECRET = 'review-secret'

// The client's generic response types get in the way of asserting raw wire shapes.
type Api = any

describe('a user token reacts only where it may read, also through a parent reaction', () => {
  let client: EddyClient
  let app: FastifyInstance
  let base: string
  let api: Api
  let mallory: Api
  let secret: { id: string }
  let comment: { id: string }

  before(async () => {
    client = connect({ store: 'memory' })
    await client.ready()
    app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/`
    const options = { urlOverride: { api: base } }
    api = stream.connect(KEY, SECRET, 'app', options)
    mallory = stream.connect(KEY, api.createUserToken('mallory'), 'app', options)
    // A private activity (only in notification:victim) and the victim's comment on it.
    secret = await api
      .feed('notification', 'victim')
      .addActivity({ actor: 'SU:carol', verb: 'message', object: 'message:1', text: 'your code is 1234' })
    comment = await api.reactions.add('comment', secret.id, { text: 'thanks' }, { userId: 'victim' })
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  it('refuses a child reaction under a reaction to an activity the user may not read', async () => {
    // The direct way is refused (sec-privacy's rule) ...
    await assert.rejects(mallory.reactions.add('like', secret.id), (e: Api) => e.error?.status_code === 400)
    // ... and so is the way through the parent: the same 400 a missing parent gets, nothing stored.
    for (const parent of [comment.id, 'no-such-reaction']) {
      await assert.rejects(mallory.reactions.addChild('like', parent, {}), (e: Api) => {
        assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
        assert.equal(e.error?.exception, 'InputException')
        assert.match(e.error?.detail, /parent must be an existing reaction/)
        return true
      })
    }
    const children = await api.reactions.filter({ reaction_id: comment.id })
    assert.deepEqual(children.results, [])
    // Where the activity is readable (the victim's own feed), a child reaction works as before.
    const victim = stream.connect(KEY, api.createUserToken('victim'), 'app', { urlOverride: { api: base } })
    const reply = await victim.reactions.addChild('like', comment.id, {})
    assert.equal(reply.parent, comment.id)
    assert.equal(reply.activity_id, secret.id)
    // A server token is trusted.
    assert.equal((await api.reactions.addChild('like', comment.id, {}, { userId: 'bob' })).parent, comment.id)
  })
})
