/**
 * Reactions and audit logs through the unmodified official `getstream` client against a real
 * listening Eddy server, with server and user tokens: the shared scenarios (test/fixtures/
 * reaction-scenarios.ts, also run embedded by test/engine-reactions.test.ts), then what only
 * the wire shows: absolute `next` links, both `reactionKindsFilter` spellings, `rankingVars`,
 * `SR:`/`SA:` enrichment, Stream's permission rules and `GET audit_logs/`.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import {
  type Actor,
  type Driver,
  failsWith,
  reactionScenarios,
  type WireActivity,
  type WireReaction,
} from './fixtures/reaction-scenarios.js'
import { must } from './helpers.js'

const KEY = 'reactions-key'
const SECRET = 'reactions-secret'
const USERS = ['alice', 'bob', 'carl', 'dave']

/**
 * The official client as the shared scenarios drive it: its answers are the wire shapes they
 * assert, which its generic response types describe only loosely.
 */
const asActor = (client: StreamClient): Actor => client as unknown as Actor
/** The official client with a server token, as the scenarios drive the trusted client (audit logs too). */
const asAdmin = (client: StreamClient): Driver['admin'] => client as unknown as Driver['admin']

for (const store of ['sqlite::memory:', 'memory']) {
  describe(`reactions over HTTP with the official client (${store})`, () => {
    let app: FastifyInstance
    let client: EddyClient
    let api: StreamClient
    let origin: string
    const users = new Map<string, StreamClient>()
    const profiles = new Map<string, object>()

    function as(user: string): StreamClient {
      let c = users.get(user)
      if (!c) {
        c = stream.connect(KEY, api.createUserToken(user), 'app', { urlOverride: { api: `${origin}/api/` } })
        users.set(user, c)
      }
      return c
    }

    before(async () => {
      client = connect({ store, auditLog: true })
      app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
      await app.listen({ port: 0, host: '127.0.0.1' })
      origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      api = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: `${origin}/api/` } })
      for (const prefix of ['', 'w-']) {
        for (const name of USERS) {
          const id = `${prefix}${name}`
          const user = await as(id).setUser({ name })
          profiles.set(id, must(user.full, `${id}'s profile`))
        }
      }
    })
    after(async () => {
      await app.close()
      await client.close()
    })

    const driver = (): Driver => ({
      as: (user) => asActor(as(user)),
      admin: Object.assign(asAdmin(api), { flush: () => client.flush() }),
      userObject: (user) => {
        const { duration: _d, ...full } = must(profiles.get(user), `${user}'s profile`) as {
          duration?: string
        }
        return full
      },
    })
    reactionScenarios(driver, '')

    describe('what only the wire shows', () => {
      const u = (name: string) => `w-${name}`
      /** A user's official client, read as the wire shapes these tests assert. */
      const wire = (user: string) => asActor(as(user))
      let post: WireActivity

      before(async () => {
        post = await wire(u('alice'))
          .feed('user', u('alice'))
          .addActivity({ verb: 'eat', object: 'burger', text: 'hi' })
        for (let i = 0; i < 6; i++) await wire(u('bob')).reactions.add('like', post.id, { i })
        await wire(u('bob')).reactions.add('comment', post.id, { text: 'yum' })
      })

      it('links latest_reactions_extra and filter pages to absolute URLs the client can follow', async () => {
        const { results } = await wire(u('bob')).feed('user', u('alice')).get({ withRecentReactions: true })
        const next = results[0].latest_reactions_extra.like.next
        assert.ok(next.startsWith(`${origin}/api/v1.0/reaction/activity_id/${post.id}/like/?`), next)
        assert.equal(results[0].latest_reactions_extra.comment.next, '')
        // react-activity-feed re-sends the link's query through reactions.filter.
        const query = Object.fromEntries(new URL(next).searchParams)
        const page = await wire(u('carl')).reactions.filter({ activity_id: post.id, kind: 'like', ...query })
        assert.deepEqual(
          page.results.map((r) => r.data.i),
          [0],
        )
        const filtered = await wire(u('carl')).reactions.filter({
          activity_id: post.id,
          kind: 'like',
          limit: 2,
        })
        assert.ok(filtered.next.startsWith(`${origin}/api/v1.0/reaction/activity_id/${post.id}/like/?id_lt=`))
      })

      it('accepts reactionKindsFilter as repeated brackets (axios) and as a comma list (Go)', async () => {
        const axios = await wire(u('bob'))
          .feed('user', u('alice'))
          .get({ withReactionCounts: true, reactionKindsFilter: ['comment'] })
        assert.deepEqual(axios.results[0].reaction_counts, { comment: 1 })
        const token = api.createUserToken(u('bob'))
        const res = await fetch(
          `${origin}/api/v1.0/enrich/feed/user/${u('alice')}/?api_key=${KEY}&withReactionCounts=true&reactionKindsFilter=like,comment`,
          { headers: { authorization: token, 'stream-auth-type': 'jwt' } },
        )
        assert.deepEqual(((await res.json()) as { results: WireActivity[] }).results[0].reaction_counts, {
          comment: 1,
          like: 6,
        })
      })

      it('validates rankingVars: an object is fine, a list or bad JSON is a 400', async () => {
        await wire(u('bob'))
          .feed('user', u('alice'))
          .get({ rankingVars: JSON.stringify({ music: 1 }) })
        await wire(u('bob'))
          .feed('user', u('alice'))
          .get({ reactions: { recent: true, ranking_vars: { music: 1 } } })
        const list = await failsWith(
          wire(u('bob'))
            .feed('user', u('alice'))
            .get({ rankingVars: ['music'] }),
          400,
        )
        assert.match(list.detail, /rankingVars must be a JSON object/)
        await failsWith(asActor(api).feed('user', u('alice')).get({ rankingVars: '[1,2]' }), 400)
        await failsWith(asActor(api).feed('user', u('alice')).get({ rankingVars: '{oops' }), 400)
      })

      it('enriches SR: and SA: references, with the reaction fields on the embedded activity', async () => {
        const share = await wire(u('carl')).reactions.add(
          'share',
          post.id,
          {},
          { targetFeeds: [`user:${u('carl')}`] },
        )
        const { results } = await wire(u('dave')).feed('user', u('carl')).get({ withReactionCounts: true })
        // A share: its reaction (SR:) and the shared activity (SA:), enriched.
        const [activity] = results as unknown as (WireActivity & {
          reaction: WireReaction
          object: WireActivity
        })[]
        assert.equal(activity.reaction.id, share.id)
        assert.deepEqual(activity.reaction.user, profiles.get(u('carl')) && driver().userObject(u('carl')))
        assert.equal(activity.object.id, post.id)
        assert.deepEqual(activity.object.actor, driver().userObject(u('alice')))
        assert.deepEqual(activity.object.reaction_counts, { comment: 1, like: 6, share: 1 })
        await wire(u('carl')).reactions.delete(share.id)
      })

      it('makes server-side reactions for a named user, and asks a server token to name one', async () => {
        const server = asActor(api)
        const like = await server.reactions.add('like', post.id, {}, { userId: u('dave') })
        assert.equal(like.user_id, u('dave'))
        assert.deepEqual(like.user, driver().userObject(u('dave')))
        const child = await server.reactions.addChild('like', like, {}, { userId: u('carl') })
        assert.equal(child.user_id, u('carl'))
        // A server token names whose reactions are "own" with user_id (on the enrich/ path it asks for).
        const read = await server
          .feed('user', u('alice'))
          .get({ enrich: true, withOwnReactions: true, user_id: u('dave') })
        assert.deepEqual(
          read.results[0].own_reactions.like.map((r) => r.id),
          [like.id],
        )
        const missing = await failsWith(server.reactions.add('like', post.id), 400)
        assert.match(missing.detail, /user_id is required/)
        await server.reactions.delete(like.id)
      })

      it('answers GET audit_logs/ to server tokens only, with users and collections logged too', async () => {
        await must(as(u('dave')).currentUser, "dave's user").update({ name: 'Dave D.' })
        const entry = await as(u('dave')).collections.add('food', 'pie', { name: 'pie' })
        await api.collections.delete('food', entry.id)
        const userLog = await api.auditLogs.filter({ entity_type: 'user', entity_id: u('dave') })
        assert.deepEqual(
          userLog.audit_logs.map((l) => [l.action, l.user_id]),
          [
            ['updated', u('dave')],
            ['created', u('dave')],
          ],
        )
        const food = await api.auditLogs.filter({ entity_type: 'collection', entity_id: 'food:pie' })
        assert.deepEqual(
          food.audit_logs.map((l) => [l.action, l.user_id]),
          [
            ['deleted', u('dave')],
            ['created', u('dave')],
          ],
        )
        await failsWith(as(u('dave')).auditLogs.filter({ user_id: u('dave') }), 403)
        await failsWith(api.auditLogs.filter({ entity_type: 'planet' }), 400)
        await failsWith(api.auditLogs.filter({ next: 'garbage' }), 400)
      })
    })
  })
}
