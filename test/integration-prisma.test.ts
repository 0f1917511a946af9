/**
 * The Prisma client extension. The client is generated at test time into node_modules
 * (`prisma generate` works offline with PRISMA_SCHEMA_ENGINE_BINARY set); tables are created
 * with SQL because `prisma db push` needs the schema engine, which cannot be downloaded here.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { connect, type EddyClient } from '../src/client/client.js'
import {
  activityDeleted,
  configure,
  Enrich,
  resetSettings,
  resetTracking,
  withoutTracking,
} from '../src/django/index.js'
import { eddyExtension, transaction } from '../src/django/prisma/index.js'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { postgresUnavailable } from './fixtures/integration/postgres.js'
import { prismaHarness } from './fixtures/integration/prisma-harness.js'
import { RecordingClient } from './fixtures/integration/recording.js'

const here = fileURLToPath(new URL('./fixtures/integration/prisma/', import.meta.url))
// Generated into node_modules (ignored by git, tsc and biome), never committed.
const generated = join(process.cwd(), 'node_modules', '.eddy-test-prisma', 'client.ts')

function generate(): string | undefined {
  try {
    execFileSync(
      join(process.cwd(), 'node_modules/.bin/prisma'),
      ['generate', '--schema', join(here, 'schema.prisma')],
      {
        env: {
          ...process.env,
          PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
        stdio: 'pipe',
      },
    )
    return existsSync(generated) ? undefined : 'prisma generate produced no client'
  } catch (error) {
    return `prisma generate failed: ${(error as Error).message.slice(0, 300)}`
  }
}

const skip = generate()

describe('Prisma client extension', { skip }, () => {
  let dir: string
  let prisma: any
  let base: any
  let eddy: EddyClient
  let recorder: RecordingClient
  const queries: string[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-prisma-'))
    const file = join(dir, 'test.db')
    const db = new Database(file)
    db.exec(`
      CREATE TABLE "User" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "username" TEXT NOT NULL DEFAULT '');
      CREATE TABLE "Tweet" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "text" TEXT NOT NULL DEFAULT '',
        "authorId" INTEGER NOT NULL REFERENCES "User"("id"), "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP);
    `)
    db.close()
    const { PrismaClient } = await import(generated)
    const { PrismaBetterSqlite3 } = await import('@prisma/adapter-better-sqlite3')
    base = new PrismaClient({
      adapter: new PrismaBetterSqlite3({ url: `file:${file}` }),
      log: [{ emit: 'event', level: 'query' }],
    })
    base.$on('query', (e: { query: string }) => queries.push(e.query))
    prisma = base.$extends(
      eddyExtension({
        models: {
          Tweet: {
            actorId: (t: any) => t.authorId,
            actor: (t: any) => `User:${t.authorId}`,
            relatedModels: ['author'],
          },
        },
      }),
    )
  })
  after(async () => {
    await base?.$disconnect()
    await resetSettings()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    eddy = connect({ store: 'memory' })
    recorder = new RecordingClient(eddy)
    configure({ client: recorder })
    resetTracking()
  })
  afterEach(() => eddy.close())

  const feed = async (id: number) => (await eddy.feed('user', String(id)).get()).results

  it('create publishes; delete removes', async () => {
    const user = await prisma.user.create({ data: { username: 'ann' } })
    assert.equal(recorder.calls.length, 0, 'User is not tracked')
    const tweet = await prisma.tweet.create({ data: { text: 'hi', authorId: user.id } })
    const body = recorder.last()!.args[0] as Record<string, unknown>
    assert.deepEqual(
      { actor: body.actor, verb: body.verb, object: body.object, foreign_id: body.foreign_id },
      {
        actor: `User:${user.id}`,
        verb: 'tweet',
        object: `Tweet:${tweet.id}`,
        foreign_id: `Tweet:${tweet.id}`,
      },
    )
    assert.match(String(body.time), /^\d{4}-\d\d-\d\dT/)
    await prisma.tweet.delete({ where: { id: tweet.id } })
    assert.equal((await feed(user.id)).length, 0)
  })

  it('createMany and deleteMany publish per row', async () => {
    const user = await prisma.user.create({ data: {} })
    const result = await prisma.tweet.createMany({ data: [{ authorId: user.id }, { authorId: user.id }] })
    assert.deepEqual(result, { count: 2 })
    assert.equal((await feed(user.id)).length, 2)
    await prisma.tweet.deleteMany({ where: { authorId: user.id } })
    assert.equal((await feed(user.id)).length, 0)
  })

  it('transaction(): publishes after commit, nothing on rollback', async () => {
    const user = await prisma.user.create({ data: {} })
    await transaction(prisma, async (tx) => {
      await tx.tweet.create({ data: { authorId: user.id } })
      assert.equal(recorder.calls.length, 0)
    })
    assert.equal((await feed(user.id)).length, 1)
    await assert.rejects(
      transaction(prisma, async (tx) => {
        await tx.tweet.create({ data: { authorId: user.id } })
        throw new Error('rollback')
      }),
      /rollback/,
    )
    assert.equal((await feed(user.id)).length, 1)
  })

  it('withoutTracking and the explicit API', async () => {
    const user = await prisma.user.create({ data: {} })
    // Prisma queries are lazy: await inside the scope (a returned, unawaited PrismaPromise runs later, outside it).
    const tweet = await withoutTracking(
      async () => await prisma.tweet.create({ data: { authorId: user.id } }),
    )
    assert.equal(recorder.calls.length, 0)
    await prisma.$executeRawUnsafe(`DELETE FROM "Tweet" WHERE id = ${tweet.id}`)
    await activityDeleted(tweet, 'Tweet')
    assert.equal(recorder.last()!.method, 'removeActivity')
  })

  it('enrichment: one query per model, related models included', async () => {
    const user = await prisma.user.create({ data: { username: 'bo' } })
    const tweets = await prisma.tweet.createManyAndReturn({
      data: [{ authorId: user.id }, { authorId: user.id }],
    })
    const activities = (await feed(user.id)).reverse()
    queries.length = 0
    const enriched = await new Enrich().enrichActivities(activities)
    assert.equal(enriched[0].enriched, true)
    assert.equal((enriched[0].object as any).id, tweets[0].id)
    assert.equal((enriched[0].object as any).author.username, 'bo')
    assert.equal((enriched[0].actor as any).username, 'bo')
    assert.ok(queries.length <= 3, `queries: ${queries.join('\n')}`)
    assert.equal(
      queries.filter((q) => /FROM [`"]?(main[`"]?\.)?[`"]?User/i.test(q) && !/Tweet/.test(q)).length >= 1,
      true,
    )
  })
})

adapterSuite(prismaHarness('sqlite'))
adapterSuite(prismaHarness('postgres', await postgresUnavailable()))
