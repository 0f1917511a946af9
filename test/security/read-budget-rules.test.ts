/**
 * The truncation rules of the read budgets (docs/server.md, "Read budgets"), pinned one by one:
 * reaction fields on the embedded client over every store (the most reacted kinds, lists cut
 * from their oldest end with a `next` link to the rest), and the server's enrichment (one level
 * of `SA:` embedding, references per activity, plain strings past a budget).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, StreamClient } from 'getstream'
import {
  REACTION_BYTES_PER_ACTIVITY,
  REACTION_BYTES_PER_RESPONSE,
  REACTION_KINDS_PER_ACTIVITY,
  REFERENCES_PER_ACTIVITY,
} from '../../src/engine/read-budget.js'
import { postgresUnavailable, ScratchSchemas } from '../fixtures/postgres-store.js'
import { startStreamServer } from '../fixtures/stream-server.js'
import { must, open, STORES } from '../helpers.js'

/** A reaction as the reaction fields show it. */
interface ShownReaction {
  id: string
  data: Record<string, unknown>
}

/** An activity with the reaction fields these tests read. */
interface Reacted {
  reaction_counts: Record<string, number>
  latest_reactions: Record<string, ShownReaction[]>
  own_reactions: Record<string, ShownReaction[]>
  latest_reactions_extra: Record<string, { next: string }>
}

/** A user reference as the server's enrichment resolves it. */
interface EnrichedUser {
  id: string
  data: { name?: string }
}

/** An activity as the server's enrichment shows it: references resolved, or plain strings past a budget. */
interface Enriched {
  actor: EnrichedUser
  object: { id: string; actor: EnrichedUser; object: string }
  who: EnrichedUser
  [field: string]: unknown
}

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

const skipPostgres = await postgresUnavailable()
const scratch = new ScratchSchemas('budget')
after(() => scratch.drop())

const stores: { name: string; client: () => Promise<EddyClient> }[] = [
  ...STORES.map((s) => ({ name: s.name, client: async () => open(s) })),
  ...(skipPostgres
    ? []
    : [{ name: 'postgres', client: async () => connect({ store: await scratch.open(scratch.name()) }) }]),
]

const FLAGS = { withRecentReactions: true, withOwnReactions: true, withReactionCounts: true, user_id: 'bob' }

for (const store of stores) {
  describe(`reaction field budgets on the embedded client (${store.name})`, () => {
    let client: EddyClient

    before(async () => {
      client = await store.client()
    })
    after(() => client.close())

    it('shows the most reacted kinds, ties in name order, within reactionKindsFilter', async () => {
      const post = await client
        .feed('user', 'alice')
        .addActivity({ actor: 'alice', verb: 'post', object: 'o:1' })
      const extra = REACTION_KINDS_PER_ACTIVITY + 5
      for (let i = extra - 1; i >= 0; i--)
        await client.reactions.add(`k${String(i).padStart(2, '0')}`, post.id, {}, { userId: 'mallory' })
      for (const user of ['bob', 'carl', 'dave'])
        await client.reactions.add('like', post.id, {}, { userId: user })
      const [activity] = (await client.feed('user', 'alice').get(FLAGS)).results as unknown as Reacted[]
      const kinds = Object.keys(activity.reaction_counts)
      assert.equal(kinds.length, REACTION_KINDS_PER_ACTIVITY)
      assert.deepEqual(kinds.slice(0, 3), ['like', 'k00', 'k01'])
      assert.ok(!kinds.includes(`k${extra - 1}`))
      assert.deepEqual(Object.keys(activity.latest_reactions).sort(), [...kinds].sort())
      assert.deepEqual(Object.keys(activity.own_reactions), ['like'])
      // A filter chooses among the kinds first; the budget then applies to what it names.
      const filtered = (
        await client.feed('user', 'alice').get({ ...FLAGS, reactionKindsFilter: [`k${extra - 1}`] })
      ).results[0] as unknown as Reacted
      assert.deepEqual(filtered.reaction_counts, { [`k${extra - 1}`]: 1 })
      // getActivities reads the same fields through the same budget.
      const byId = (await client.getActivities({ ids: [post.id], ...FLAGS } as never))
        .results[0] as unknown as Reacted
      assert.equal(Object.keys(byId.reaction_counts).length, REACTION_KINDS_PER_ACTIVITY)
    })

    it('cuts a kind from its oldest end past the byte budget and links to the rest', async () => {
      const post = await client
        .feed('user', 'alice')
        .addActivity({ actor: 'alice', verb: 'post', object: 'o:2' })
      const data = { text: 'y'.repeat(9 * 1024) }
      for (let i = 0; i < 25; i++)
        await client.reactions.add('comment', post.id, { ...data, i }, { userId: 'mallory' })
      const [activity] = (await client.feed('user', 'alice').get({ ...FLAGS, recentReactionsLimit: 25 }))
        .results as unknown as Reacted[]
      const shown = activity.latest_reactions.comment
      assert.ok(shown.length > 0 && shown.length < 25, `${shown.length} shown`)
      assert.ok(Buffer.byteLength(JSON.stringify(activity.latest_reactions)) <= REACTION_BYTES_PER_ACTIVITY)
      assert.deepEqual(
        shown.map((r) => r.data.i),
        Array.from({ length: shown.length }, (_, n) => 24 - n),
        'the newest are kept',
      )
      assert.equal(activity.reaction_counts.comment, 25)
      const next = new URL(activity.latest_reactions_extra.comment.next, 'http://x')
      const oldest = must(shown.at(-1), 'the oldest comment shown')
      assert.equal(next.searchParams.get('id_lt'), oldest.id)
      const rest = await client.reactions.filter({
        activity_id: post.id,
        kind: 'comment',
        id_lt: oldest.id,
        limit: 25,
      })
      assert.equal(rest.results.length, 25 - shown.length)
    })
  })
}

describe('children budgets of shown reactions', () => {
  it('loads and shows children within their budgets, keeping children_counts exact', async () => {
    const client = open(STORES[0])
    try {
      const post = await client
        .feed('user', 'alice')
        .addActivity({ actor: 'alice', verb: 'post', object: 'o:3' })
      const data = { text: 'z'.repeat(9 * 1024) }
      for (let i = 0; i < 25; i++) {
        const top = await client.reactions.add('comment', post.id, { i }, { userId: 'mallory' })
        for (let j = 0; j < 10; j++) {
          const child = await client.reactions.addChild('reply', top, { j }, { userId: 'mallory' })
          for (let k = 0; k < 10; k++)
            await client.reactions.addChild('reply', child, data, { userId: 'mallory' })
        }
      }
      const page = await client.reactions.filter({ activity_id: post.id, kind: 'comment', limit: 25 })
      assert.equal(page.results.length, 25)
      const bytes = Buffer.byteLength(JSON.stringify(page.results))
      assert.ok(bytes <= REACTION_BYTES_PER_RESPONSE + 64 * 1024, `${bytes} bytes`)
      const children = page.results.flatMap((r) => r.latest_children.reply)
      assert.equal(children.length, 250, 'small children all fit')
      for (const child of children) assert.deepEqual(child.children_counts, { reply: 10 })
      const shown = children.map((c) => c.latest_children.reply?.length ?? 0)
      assert.equal(shown[0], 10, 'the first are served in full')
      assert.equal(shown.at(-1), 0, 'the last are past the budget')
    } finally {
      await client.close()
    }
  })
})

describe('enrichment budgets on the server', () => {
  let client: EddyClient
  let app: FastifyInstance
  let mallory: StreamClient
  let alice: StreamClient

  before(async () => {
    client = open(STORES[0])
    const started = await startStreamServer('rules-key', 'rules-secret', { client })
    app = started.app
    mallory = started.user('mallory')
    alice = started.user('alice')
    await mallory.user('mallory').getOrCreate({ name: 'Mallory' })
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  it('embeds one level: an SA: reference inside an embedded activity stays plain', async () => {
    const inner = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'v', object: 'o:inner' }))
    const middle = await mallory
      .feed('user', 'mallory')
      .addActivity(noActor({ verb: 'v', object: `SA:${inner.id}` }))
    await mallory
      .feed('user', 'mallory')
      .addActivity(noActor({ verb: 'v', object: `SA:${middle.id}`, who: 'SU:mallory' }))
    const [outer] = (await alice.feed('user', 'mallory').get({ limit: 1 })).results as unknown as Enriched[]
    assert.equal(outer.object.id, middle.id)
    assert.equal(outer.object.actor.id, 'mallory', "an embedded activity's user references are resolved")
    assert.equal(outer.object.object, `SA:${inner.id}`)
    assert.equal(outer.who.data.name, 'Mallory')
  })

  it(`resolves at most ${REFERENCES_PER_ACTIVITY} references of one activity, in stored order`, async () => {
    const fields: Record<string, string> = {}
    for (let i = 0; i < REFERENCES_PER_ACTIVITY + 50; i++) fields[`u${i}`] = 'SU:mallory'
    await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'v', object: 'o:many', ...fields }))
    const [many] = (await alice.feed('user', 'mallory').get({ limit: 1 })).results as unknown as Enriched[]
    // The actor is the first reference of the activity.
    assert.equal(many.actor.id, 'mallory')
    assert.equal((many.u0 as EnrichedUser).id, 'mallory')
    assert.equal((many[`u${REFERENCES_PER_ACTIVITY - 2}`] as EnrichedUser).id, 'mallory')
    assert.equal(many[`u${REFERENCES_PER_ACTIVITY - 1}`], 'SU:mallory')
    assert.equal(many[`u${REFERENCES_PER_ACTIVITY + 49}`], 'SU:mallory')
  })
})
