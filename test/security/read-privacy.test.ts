/**
 * Privacy of reads, as an attacker with an ordinary user token tries it: making its own feed
 * follow a feed it may not read (the victim's timeline, notification feed), then reading what
 * arrives; and reading a private activity by id (`activities/`, `enrich/activities/`, by
 * foreign_id + time), through a reaction filter's `with_activity_data`, or through an `SA:`
 * reference that enrichment resolves. A user token reads an activity only where it may read a
 * feed holding it; elsewhere the activity is left out, as an unknown id is.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, StreamClient } from 'getstream'
import { buildFeedGroups, type FeedRef } from '../../src/engine/feed-groups.js'
import { MAX_PUBLIC_HOLDER_LOOKUPS, readableActivities } from '../../src/engine/read-policy.js'
import { MemoryStore } from '../../src/store/memory/memory-store.js'
import { forbidden } from '../fixtures/attack.js'
import { everyStore } from '../fixtures/every-store.js'
import { startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'privacy-key'
const SECRET = 'privacy-secret'
const T = '2026-11-20T12:00:00.000000'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** A raw answer, with the fields these tests read. */
interface Wire {
  code: number
  detail: string
  results: unknown[]
}

/** An activity as an enriched read shows it: its object resolved, or the error left in its place. */
interface Shown {
  object: { error?: string; id?: string; text?: string }
}

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

// The rule reads only the store's contract (which feeds hold an activity), so every store agrees.
const { stores: backends } = await everyStore('privacy')

for (const backend of backends)
  describe(`a user token reads only what it may read (${backend.name})`, { skip: backend.skip }, () => {
    let client: EddyClient
    let app: FastifyInstance
    let base: string
    let api: Api
    let victim: Api
    let mallory: Api
    let carol: Api
    /** A private activity: only in notification:victim (its actor's public feed does not hold it). */
    let secret: { id: string; foreign_id: string; time: string }
    /** Carol's public post. */
    let open: { id: string }

    before(async () => {
      client = connect(backend.options())
      await client.ready()
      const started = await startStreamServer(KEY, SECRET, { client })
      app = started.app
      base = started.base
      api = started.api
      victim = started.user('victim')
      mallory = started.user('mallory')
      carol = started.user('carol')
      // The victim follows carol (whom the victim follows is private: listing it is a 403).
      await victim.feed('timeline', 'victim').follow('user', 'carol')
      open = await carol
        .feed('user', 'carol')
        .addActivity(noActor({ verb: 'post', object: 'open:1', text: 'public' }))
      await victim
        .feed('timeline', 'victim')
        .addActivity(noActor({ verb: 'note', object: 'diary:1', text: 'private' }))
      secret = await api.feed('notification', 'victim').addActivity({
        actor: 'SU:carol',
        verb: 'message',
        object: 'message:1',
        foreign_id: 'message:1',
        time: T,
        text: 'your code is 1234',
      })
    })
    after(async () => {
      await app.close()
      await client.close()
    })

    /** A raw call with a user token. */
    async function raw(token: string, method: string, path: string, body?: unknown) {
      const sep = path.includes('?') ? '&' : '?'
      const res = await fetch(`${base}v1.0/${path}${sep}api_key=${KEY}`, {
        method,
        headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { status: res.status, body: (await res.json()) as Wire }
    }

    it("refuses to make a user's feed follow a feed it may not read, so nothing private arrives", async () => {
      await forbidden(mallory.feed('timeline', 'victim').get())
      await forbidden(mallory.feed('timeline', 'mallory').follow('timeline', 'victim'))
      await forbidden(mallory.feed('timeline', 'mallory').follow('notification', 'victim'))
      await forbidden(mallory.feed('timeline', 'mallory').follow('timeline_aggregated', 'victim'))
      await forbidden(mallory.feed('user', 'mallory').follow('timeline', 'victim', { limit: 100 }))
      const token = api.createUserToken('mallory')
      for (const target of ['timeline:victim', 'notification:victim']) {
        const res = await raw(token, 'POST', 'feed/timeline/mallory/following/', { target })
        assert.equal(res.status, 403, target)
        assert.equal(res.body.code, 17)
      }
      // No edge was made, and nothing of the victim's (its own post, or carol's through its follow) arrived.
      assert.deepEqual((await api.feed('timeline', 'mallory').following()).results, [])
      await victim
        .feed('timeline', 'victim')
        .addActivity(noActor({ verb: 'note', object: 'diary:2', text: 'private' }))
      await carol
        .feed('user', 'carol')
        .addActivity(noActor({ verb: 'post', object: 'open:2', text: 'via victim' }))
      await client.flush()
      assert.deepEqual((await api.feed('timeline', 'mallory').get()).results, [])
      // Following what it may read itself still works: its own feeds and public user feeds.
      await mallory.feed('timeline', 'mallory').follow('user', 'victim')
      await mallory.feed('timeline', 'mallory').follow('user', 'mallory')
      assert.equal((await api.feed('timeline', 'mallory').following()).results.length, 2)
      // A server token keeps full rights.
      await api.feed('timeline', 'trusted').follow('timeline', 'victim')
    })

    it('leaves a private activity out of activities/ by id and by foreign_id + time', async () => {
      // Controls: the owner and a server token get it; anyone gets carol's public post.
      assert.equal((await victim.getActivities({ ids: [secret.id] })).results.length, 1)
      assert.equal((await api.getActivities({ ids: [secret.id] })).results.length, 1)
      assert.equal((await mallory.getActivities({ ids: [open.id] })).results.length, 1)

      const byId = await mallory.getActivities({ ids: [secret.id, open.id] })
      assert.deepEqual(
        byId.results.map((a) => a.id),
        [open.id],
      )
      const byForeignId = await mallory.getActivities({
        foreignIDTimes: [{ foreign_id: secret.foreign_id, time: secret.time }],
      })
      assert.deepEqual(byForeignId.results, [])
      const token = api.createUserToken('mallory')
      for (const path of [
        `activities/?ids=${secret.id}`,
        `enrich/activities/?ids=${secret.id}`,
        `activities/?foreign_ids=${secret.foreign_id}&timestamps=${secret.time}`,
        `enrich/activities/?foreign_ids=${secret.foreign_id}&timestamps=${secret.time}&withReactionCounts=true`,
      ]) {
        const res = await raw(token, 'GET', path)
        assert.equal(res.status, 200, path)
        assert.deepEqual(res.body.results, [], path)
        assert.doesNotMatch(JSON.stringify(res.body), /1234/, path)
      }
    })

    it('leaves a private activity out of reaction filters with with_activity_data', async () => {
      // Reaction reads are open (Stream's policy), so the activity id is public knowledge.
      await victim.reactions.add('like', secret.id)
      const listed = await mallory.reactions.filter({ user_id: 'victim', kind: 'like' })
      assert.equal(listed.results[0].activity_id, secret.id)
      const page = await mallory.reactions.filter({ activity_id: secret.id, with_activity_data: true })
      assert.equal(page.results.length, 1, 'the reactions themselves stay readable')
      assert.equal(page.activity, undefined)
      assert.doesNotMatch(JSON.stringify(page), /1234/)
      const own = await victim.reactions.filter({ activity_id: secret.id, with_activity_data: true })
      assert.equal(own.activity?.text, 'your code is 1234')
    })

    it('does not resolve an SA: reference to a private activity in enriched reads', async () => {
      await mallory
        .feed('user', 'mallory')
        .addActivity(noActor({ verb: 'peek', object: `SA:${secret.id}`, text: 'x' }))
      // A reaction's activity in a target feed references the reacted-to activity the same way:
      // the victim likes the message into its public user feed.
      await victim.reactions.add('like', secret.id, {}, { targetFeeds: ['user:victim'] })
      const pages = [
        await mallory.feed('user', 'mallory').get({ enrich: true }),
        await carol.feed('user', 'mallory').get({ enrich: true }),
        await mallory.feed('user', 'victim').get({ enrich: true, limit: 1 }),
      ]
      for (const page of pages) {
        assert.equal(page.results.length, 1)
        const { object } = page.results[0] as Shown
        assert.equal(object.error, 'ReferenceNotFound', JSON.stringify(object))
        assert.equal(object.id, secret.id)
        assert.doesNotMatch(JSON.stringify(page), /1234/)
      }
      // Public activities still resolve, and the owner of the private one sees it resolved.
      await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'share', object: `SA:${open.id}` }))
      const shared = await carol.feed('user', 'mallory').get({ enrich: true, limit: 1 })
      assert.equal((shared.results[0] as Shown).object.text, 'public')
      await victim.feed('timeline', 'victim').addActivity(noActor({ verb: 'pin', object: `SA:${secret.id}` }))
      const pinned = await victim.feed('timeline', 'victim').get({ enrich: true, limit: 1 })
      assert.equal((pinned.results[0] as Shown).object.text, 'your code is 1234')
      // A server token resolves everything.
      const all = await api.feed('user', 'mallory').get({ enrich: true })
      assert.ok(all.results.some((a) => (a as Shown).object.text === 'your code is 1234'))
    })

    it('refuses a reaction to an activity the user may not read, as to a missing one', async () => {
      const missing = '11111111-1111-11ee-8888-111111111111'
      const refusal = async (activityId: string) => {
        const res = await raw(api.createUserToken('mallory'), 'POST', 'reaction/', {
          kind: 'like',
          activity_id: activityId,
          target_feeds: ['user:mallory'],
        })
        assert.equal(res.status, 400, JSON.stringify(res.body))
        return res.body.detail.replace(activityId, '<id>')
      }
      assert.equal(await refusal(secret.id), await refusal(missing))
      await assert.rejects(
        mallory.reactions.add('like', secret.id),
        /activity_id must name an existing activity/,
      )
      // Nothing of mallory's reached the activity; readable ones take reactions as before.
      const likes = await api.reactions.filter({ activity_id: secret.id, kind: 'like' })
      assert.ok(likes.results.every((r) => r.user_id !== 'mallory'))
      await mallory.reactions.add('like', open.id)
    })

    it('reads an activity that reached the reader through a follow a server made', async () => {
      // A follow made by a server token is trusted: what it delivers is in the reader's own feed.
      await api.feed('timeline', 'mallory').follow('timeline', 'victim')
      const note = await victim
        .feed('timeline', 'victim')
        .addActivity(noActor({ verb: 'note', object: 'diary:3' }))
      await client.flush() // fan-out to followers may finish after the add's answer
      assert.equal((await mallory.getActivities({ ids: [note.id] })).results.length, 1)
      await api.feed('timeline', 'mallory').unfollow('timeline', 'victim')
      assert.deepEqual((await mallory.getActivities({ ids: [note.id] })).results, [])
    })
  })

describe('the read rule asks the store a bounded number of questions', () => {
  it('at most the reader’s own feeds plus MAX_PUBLIC_HOLDER_LOOKUPS, however many feeds are named', async () => {
    const store = new MemoryStore()
    try {
      const groups = buildFeedGroups()
      let asked = 0
      const lookup = {
        groups,
        getEntries: (feed: FeedRef, sks: string[]) => {
          asked++
          return store.timelines.getEntries(feed.id, sks)
        },
      }
      // 100 activities by 100 actors, each naming 100 public feeds in `to`: 10,100 candidate holders.
      const activities = Array.from({ length: 100 }, (_, i) => ({
        id: `0000000${i % 10}-1111-11ee-8888-1111111111${String(i).padStart(2, '0')}`,
        actor: `SU:actor${i}`,
        to: Array.from({ length: 100 }, (_, j) => `user:u${i}_${j}`),
      }))
      const reader = { user: 'mallory', publicRead: new Set(['user']) }
      assert.deepEqual(await readableActivities(lookup, reader, activities), [])
      assert.equal(asked, groups.size + MAX_PUBLIC_HOLDER_LOOKUPS)
      // Trusted callers (no reader) are not checked at all.
      asked = 0
      assert.equal((await readableActivities(lookup, undefined, activities)).length, 100)
      assert.equal(asked, 0)
    } finally {
      await store.close()
    }
  })
})
