/**
 * Reaction counts under concurrency: two users' official clients like and unlike one activity in
 * parallel, through two servers sharing one store where the store allows it (two connections to
 * one SQLite file, two pools on one PostgreSQL schema); the counts must equal the reactions left,
 * and a reaction deleted twice at once must count down once.
 */
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, {
  type FlatActivityEnriched,
  type NewActivity,
  type ReactionFilterAPIResponse,
  type ReactionFilterConditions,
  type StreamClient,
} from 'getstream'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const KEY = 'race-key'
const SECRET = 'race-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** A failed request, as the official client rejects with it (the HTTP response it got). */
interface Failure {
  response?: { status?: number }
}

const pgSkip = await postgresUnavailable()
const scratch = new ScratchSchemas('reactions')
after(() => scratch.drop())

const backends: { name: string; servers: number; spec: () => string; skip?: string | false }[] = [
  { name: 'memory', servers: 1, spec: () => 'memory' },
  {
    name: 'sqlite file',
    servers: 2,
    spec: () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'eddy-race-')), 'feeds.db')}`,
  },
  { name: 'postgres', servers: 2, spec: () => `${PG_URL}?schema=${scratch.name()}`, skip: pgSkip },
]

/** Settles every promise; resolves with how many succeeded and the statuses of the failures. */
async function outcomes(promises: Promise<unknown>[]): Promise<{ ok: number; failed: number[] }> {
  const results = await Promise.allSettled(promises)
  const failed = results.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as Failure).response?.status ?? -1] : [],
  )
  return { ok: results.length - failed.length, failed }
}

for (const backend of backends) {
  describe(`reaction counts under concurrency (${backend.name})`, { skip: backend.skip }, () => {
    it('stay exact while two clients like and unlike in parallel through every server', async () => {
      const spec = backend.spec()
      const clients: EddyClient[] = []
      const apps: FastifyInstance[] = []
      try {
        for (let i = 0; i < backend.servers; i++) {
          const client = connect({ store: spec, auditLog: true })
          await client.ready()
          const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
          await app.listen({ port: 0, host: '127.0.0.1' })
          clients.push(client)
          apps.push(app)
        }
        const server = (i: number) => ({
          urlOverride: {
            api: `http://127.0.0.1:${(apps[i % apps.length].server.address() as AddressInfo).port}/api/`,
          },
        })
        const api: Api = stream.connect(KEY, SECRET, 'app', server(0))
        const user = (id: string, i: number): Api =>
          stream.connect(KEY, api.createUserToken(id), 'app', server(i))
        const post = await user('author', 0)
          .feed('user', 'author')
          .addActivity({ verb: 'post', object: 'o' } as NewActivity)

        // Alice adds 40 likes and takes back 25 of them; Bob adds 30 and takes back 10; all at once.
        const run = (who: string, adds: number, unlikes: number) =>
          Array.from({ length: adds }, async (_, i) => {
            const like = await user(who, i).reactions.add('like', post.id, { i })
            if (i < unlikes) await user(who, i + 1).reactions.delete(like.id)
          })
        const raced = await outcomes([...run('alice', 40, 25), ...run('bob', 30, 10)])
        assert.deepEqual(raced, { ok: 70, failed: [] })

        // The same reactions deleted twice at once, through different servers: one wins each time.
        const doomed = await Promise.all(
          Array.from({ length: 10 }, (_, i) => user('alice', i).reactions.add('clap', post.id, { i })),
        )
        const twice = await outcomes(
          doomed.flatMap((r, i) => [
            user('alice', i).reactions.delete(r.id),
            user('alice', i + 1).reactions.delete(r.id),
          ]),
        )
        assert.equal(twice.ok, 10)
        assert.deepEqual(twice.failed, Array(10).fill(404))

        const left: { id: string; user_id?: string }[] = []
        let page: Pick<ReactionFilterAPIResponse, 'next' | 'results'> = { next: 'start', results: [] }
        const conditions: ReactionFilterConditions = { activity_id: post.id, kind: 'like', limit: 25 }
        while (page.next) {
          page = await api.reactions.filter(conditions)
          left.push(...page.results)
          conditions.id_lt = page.results.at(-1)?.id
        }
        assert.equal(left.length, 35)
        assert.equal(left.filter((r) => r.user_id === 'alice').length, 15)
        for (let i = 0; i < apps.length; i++) {
          const read = await user('author', i).feed('user', 'author').get({ withReactionCounts: true })
          assert.deepEqual(
            (read.results[0] as FlatActivityEnriched).reaction_counts,
            { clap: 0, like: 35 },
            `server ${i}`,
          )
        }
        const created = await api.auditLogs.filter({ user_id: 'bob', limit: 100 })
        assert.equal(created.audit_logs.length, 40, 'one audit entry per committed change')
      } finally {
        for (const app of apps) await app.close()
        for (const client of clients) await client.close()
      }
    })
  })
}
