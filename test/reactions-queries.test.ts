/**
 * Reaction fields are batch-first: a feed page with own, latest and counted reactions (and their
 * children and users) costs the same number of PostgreSQL statements for 5 activities as for 25.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { connect } from 'eddy'
import { openPostgresStore } from '../src/store/postgres/index.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const skip = await postgresUnavailable()
const scratch = new ScratchSchemas('rqueries')
after(() => scratch.drop())

describe('reaction fields on a page cost a fixed number of statements', { skip }, () => {
  it('reads 5 and 25 reacted activities with the same statements', async () => {
    let statements = 0
    let counting = false
    const store = await openPostgresStore(PG_URL, {
      schema: scratch.name(),
      onQuery: () => {
        if (counting) statements++
      },
    })
    const client = connect({ store })
    try {
      for (let i = 0; i < 30; i++) {
        const post = await client
          .feed('user', 'author')
          .addActivity({ actor: 'author', verb: 'post', object: `o:${i}` })
        for (const user of ['u1', 'u2']) {
          for (const kind of ['like', 'clap']) await client.reactions.add(kind, post.id, {}, { userId: user })
        }
        const comment = await client.reactions.add('comment', post.id, { i }, { userId: 'u2' })
        await client.reactions.addChild('like', comment, {}, { userId: 'u1' })
      }
      const flags = {
        withOwnReactions: true,
        withRecentReactions: true,
        withReactionCounts: true,
        withOwnChildren: true,
        user_id: 'u1',
      }
      const measure = async (limit: number) => {
        statements = 0
        counting = true
        const { results } = await client.feed('user', 'author').get({ ...flags, limit })
        counting = false
        assert.equal(results.length, limit)
        assert.deepEqual(results[0].reaction_counts, { clap: 2, comment: 1, like: 2 })
        return statements
      }
      const five = await measure(5)
      const twentyFive = await measure(25)
      assert.equal(twentyFive, five)
      assert.ok(five <= 12, `${five} statements`)
    } finally {
      await client.close()
    }
  })
})
