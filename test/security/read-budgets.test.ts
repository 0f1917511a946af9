/**
 * Read amplification, as an attacker with a user token builds it (issue 17, items 2 and 6): a few
 * hundred KB of stored references or reactions that one read would repeat into hundreds of MB.
 * The server runs in its own process (`eddy serve`), so its memory is measured alone: the peak
 * (VmHWM) is reset before the read and read back after it. Each read must stay under the
 * documented output budget (docs/server.md, "Read budgets"), truncate by the documented rule,
 * keep the server answering others and its memory flat; on the memory store and on PostgreSQL.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import stream, { type NewActivity, type StreamClient } from 'getstream'
import { MAX_ACTIVITY_BYTES } from '../../src/engine/activity.js'
import {
  ENRICH_BYTES_PER_RESPONSE,
  REACTION_BYTES_PER_ACTIVITY,
  REACTION_BYTES_PER_RESPONSE,
  REACTION_KINDS_PER_ACTIVITY,
} from '../../src/engine/read-budget.js'
import { memoryGrowth, serveEddy, stopEddy } from '../fixtures/eddy-process.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from '../fixtures/postgres-store.js'
import { must } from '../helpers.js'

const KEY = 'budget-key'
const SECRET = 'budget-secret'

/** An activity as an enrich read shows it: the fields these tests read, and any others. */
interface EnrichedRow {
  id: string
  s0: { id: string; r0: { collection: string }; actor: { id: string } }
  [field: string]: unknown
}

/** A raw read: its status, the bytes that arrived, and the parsed body when it was read whole. */
interface RawRead {
  status: number
  bytes: number
  body?: { results: EnrichedRow[] }
}

/** An activity with the reaction fields these tests read. */
interface Reacted {
  id: string
  own_reactions: Record<string, { user_id: string }[]>
  latest_reactions: Record<string, unknown[]>
  latest_reactions_extra: unknown
  reaction_counts: Record<string, number>
}

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

/** What one read may grow the server's memory by, over its resident size before the read. */
const MEMORY_GROWTH = 64 * 1024 * 1024
/** Stop reading a body past this: a broken budget fails the test without filling its memory. */
const READ_CAP = 64 * 1024 * 1024
/** Envelope and key overhead of a response beside its activities and budgets. */
const SLACK = 64 * 1024

/** The largest response a page of `limit` activities may be: plain activities plus both budgets. */
function responseBound(limit: number): number {
  return limit * MAX_ACTIVITY_BYTES + ENRICH_BYTES_PER_RESPONSE + REACTION_BYTES_PER_RESPONSE + SLACK
}

const skipPostgres = await postgresUnavailable()
const scratch = new ScratchSchemas('budgets')
after(() => scratch.drop())
const backends = [
  { name: 'memory', store: () => 'memory' },
  ...(skipPostgres ? [] : [{ name: 'PostgreSQL', store: () => `${PG_URL}?schema=${scratch.name()}` }]),
]

for (const backend of backends)
  describe(`read budgets against a flood of references and reactions (${backend.name})`, () => {
    let child: ChildProcess
    let api: string
    let server: StreamClient
    const tokens: Record<string, string> = {}
    const as: Record<string, StreamClient> = {}

    before(async () => {
      ;({ child, api } = await serveEddy(KEY, SECRET, ['--store', backend.store()]))
      server = stream.connect(KEY, SECRET, 'app', { urlOverride: { api } })
      for (const user of ['mallory', 'alice', 'bob']) {
        tokens[user] = server.createUserToken(user)
        as[user] = stream.connect(KEY, tokens[user], 'app', { urlOverride: { api } })
      }
    })
    after(async () => {
      await stopEddy(child)
    })

    /** GET `path` as `user`, counting the body's bytes as they arrive (never more than READ_CAP). */
    async function readRaw(user: string, path: string): Promise<RawRead> {
      const res = await fetch(`${api}v1.0/${path}${path.includes('?') ? '&' : '?'}api_key=${KEY}`, {
        headers: { authorization: tokens[user], 'stream-auth-type': 'jwt' },
      })
      const chunks: Buffer[] = []
      let bytes = 0
      const body = must(res.body, 'a response body')
      for await (const chunk of body) {
        bytes += chunk.length
        if (bytes > READ_CAP) {
          await body.cancel().catch(() => {})
          return { status: res.status, bytes }
        }
        chunks.push(Buffer.from(chunk))
      }
      return { status: res.status, bytes, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }
    }

    /** The read runs while another client asks `/health`: that must answer too. */
    async function whileHealthy<T>(read: Promise<T>): Promise<T> {
      const health = await fetch(`${api.replace(/\/api\/$/, '')}/health`)
      assert.equal(health.status, 200)
      assert.equal(((await health.json()) as { status: string }).status, 'ok')
      return read
    }

    describe('enrichment (item 2): 440 SO: references embedded 185 times by each of 25 activities', () => {
      let hub: { id: string }
      let spam: { id: string }

      before(async () => {
        const mallory = as.mallory
        for (let i = 0; i < 10; i++) await mallory.collections.add('c', `e${i}`, { name: `entry ${i}` })
        const objects: Record<string, string> = {}
        for (let i = 0; i < 440; i++) objects[`r${i}`] = `SO:c:e${i % 10}`
        hub = await mallory
          .feed('user', 'mallory')
          .addActivity(noActor({ verb: 'hub', object: 'o:hub', ...objects }))
        const embeds: Record<string, string> = {}
        for (let i = 0; i < 185; i++) embeds[`s${i}`] = `SA:${hub.id}`
        const batch = Array.from({ length: 25 }, (_, n) =>
          noActor({ verb: 'spam', object: `o:${n}`, ...embeds }),
        )
        // The wire answers `{ activities: [...] }`; getstream's typings say a bare array.
        const added = (await mallory.feed('user', 'mallory').addActivities(batch)) as unknown as {
          activities: { id: string }[]
        }
        spam = added.activities[0]
      })

      for (const limit of [25, 100]) {
        it(`answers enrich/feed with limit=${limit} within the budget, truncating in page order`, async (t) => {
          let read!: RawRead
          const growth = await memoryGrowth(must(child.pid, 'the server pid'), async () => {
            read = await whileHealthy(readRaw('alice', `enrich/feed/user/mallory/?limit=${limit}`))
          })
          assert.equal(read.status, 200)
          assert.ok(read.bytes <= responseBound(26), `${read.bytes} bytes`)
          assert.ok(growth <= MEMORY_GROWTH, `server memory grew ${Math.round(growth / 2 ** 20)} MB`)
          const results = must(read.body, 'the parsed body').results
          assert.equal(results.length, Math.min(limit, 26))
          // The newest activity is served first: its first reference is resolved, one level deep.
          const first = results[0]
          assert.equal(first.s0.id, hub.id)
          assert.equal(first.s0.r0.collection, 'c')
          assert.equal(first.s0.actor.id, 'mallory')
          // Past the budget, references stay the plain strings they were stored as.
          const plain = results.flatMap((a) => Object.values(a)).filter((v) => v === `SA:${hub.id}`)
          assert.ok(plain.length > 0, 'some references are left plain past the budget')
          if (limit === 100) assert.equal(must(results.at(-1), 'the last activity').id, hub.id)
          t.diagnostic(`${read.bytes} bytes, server memory +${Math.round(growth / 2 ** 20)} MB`)
        })
      }

      it('counts every copy when enrich/activities names one activity 100 times', async () => {
        const ids = Array.from({ length: 100 }, () => spam.id).join(',')
        let read!: RawRead
        const growth = await memoryGrowth(must(child.pid, 'the server pid'), async () => {
          read = await whileHealthy(
            readRaw('alice', `enrich/activities/?ids=${ids}&withRecentReactions=true`),
          )
        })
        assert.equal(read.status, 200)
        assert.ok(read.bytes <= responseBound(100), `${read.bytes} bytes`)
        assert.ok(growth <= MEMORY_GROWTH, `server memory grew ${Math.round(growth / 2 ** 20)} MB`)
        assert.equal(must(read.body, 'the parsed body').results[0].s0.id, hub.id)
      })

      it('keeps the official client working on the same feed', async () => {
        const read = await as.alice.feed('user', 'mallory').get({ limit: 25, withReactionCounts: true })
        assert.equal(read.results.length, 25)
        assert.ok(JSON.stringify(read).length <= responseBound(25))
      })
    })

    describe('reaction kinds (item 6): 2,000 kinds with 9 KB of data on someone else’s post', () => {
      let post: { id: string }

      before(async () => {
        post = await as.alice.feed('user', 'alice').addActivity(noActor({ verb: 'post', object: 'o:post' }))
        await as.bob.feed('timeline', 'bob').follow('user', 'alice')
        const data = { text: 'x'.repeat(9 * 1024) }
        const kinds = Array.from({ length: 2000 }, (_, i) => `k${String(i).padStart(4, '0')}`)
        // A few at a time: the flood is bounded, the server is not the subject here.
        for (let i = 0; i < kinds.length; i += 20)
          await Promise.all(
            kinds.slice(i, i + 20).map((kind) => as.mallory.reactions.add(kind, post.id, data)),
          )
        // The reader's own reactions and a popular kind, which the most-reacted rule puts first.
        await as.bob.reactions.add('like', post.id, {})
        await as.alice.reactions.add('like', post.id, {})
      })

      it('shows at most the budgeted kinds and bytes per activity to each follower', async (t) => {
        let read!: { results: unknown[] }
        const growth = await memoryGrowth(must(child.pid, 'the server pid'), async () => {
          read = await whileHealthy(
            as.bob.feed('timeline', 'bob').get({
              withRecentReactions: true,
              withOwnReactions: true,
              withReactionCounts: true,
              recentReactionsLimit: 25,
            }),
          )
        })
        assert.ok(growth <= MEMORY_GROWTH, `server memory grew ${Math.round(growth / 2 ** 20)} MB`)
        t.diagnostic(
          `${JSON.stringify(read).length} bytes, server memory +${Math.round(growth / 2 ** 20)} MB`,
        )
        const [activity] = read.results as Reacted[]
        assert.equal(activity.id, post.id)
        const fields = JSON.stringify({
          own: activity.own_reactions,
          latest: activity.latest_reactions,
          extra: activity.latest_reactions_extra,
          counts: activity.reaction_counts,
        })
        assert.ok(Buffer.byteLength(fields) <= REACTION_BYTES_PER_ACTIVITY, `${fields.length} bytes`)
        const counted = Object.keys(activity.reaction_counts)
        assert.equal(counted.length, REACTION_KINDS_PER_ACTIVITY)
        // The most reacted kind first, then name order among the equally counted.
        assert.deepEqual(counted.slice(0, 3), ['like', 'k0000', 'k0001'])
        assert.equal(activity.reaction_counts.like, 2)
        assert.ok(Object.keys(activity.latest_reactions).length <= REACTION_KINDS_PER_ACTIVITY)
        assert.equal(activity.latest_reactions.like.length, 2)
        assert.deepEqual(
          activity.own_reactions.like.map((r) => r.user_id),
          ['bob'],
        )
        // Kinds whose reactions did not fit are still counted, and can be paged from the filter API.
        const shown = Object.keys(activity.latest_reactions)
        assert.ok(shown.length < counted.length, 'the 9 KB reactions cannot all fit in the budget')
        const hidden = must(
          counted.find((k) => !shown.includes(k)),
          'a counted kind not shown',
        )
        const page = await as.bob.reactions.filter({ activity_id: post.id, kind: hidden, limit: 1 })
        assert.equal(page.results.length, 1)
      })

      it('answers a raw enrich read of the same timeline within the response budget', async () => {
        const read = await whileHealthy(
          readRaw(
            'bob',
            'enrich/feed/timeline/bob/?withRecentReactions=true&withOwnReactions=true&withReactionCounts=true&recentReactionsLimit=25',
          ),
        )
        assert.equal(read.status, 200)
        assert.ok(
          read.bytes <= MAX_ACTIVITY_BYTES + REACTION_BYTES_PER_ACTIVITY + SLACK,
          `${read.bytes} bytes`,
        )
      })
    })
  })
