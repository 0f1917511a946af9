/**
 * Fan-out priority for recently active followers, on PostgreSQL (walk by name, and the Redis
 * store's walk by bucket over PostgreSQL's own tables) and on PostgreSQL + a single Redis: a job
 * first delivers to followers whose feed was read within the active window, then to everyone,
 * each follower ending with the entry once; reads are recorded in batches, throttled, and never
 * fail a read. Real PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { StoreError } from '../src/store/errors.js'
import {
  openPostgresStore,
  type PostgresOptions,
  PostgresTableTimelines,
} from '../src/store/postgres/index.js'
import type { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { openRedisStore, type RedisStore } from '../src/store/redis/index.js'
import { bucketWalk } from '../src/store/redis/pg-schema.js'
import type { FanoutJob } from '../src/store/store.js'
import { sk } from '../src/testing/store-contract.js'
import { eventually, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'

const skip = await postgresUnavailable()
const redisSkip = skip ?? (await redisUnavailable())
const schemas = new ScratchSchemas('priority')
const prefixes = new ScratchPrefixes('priority')
after(async () => {
  await schemas.drop()
  if (!redisSkip) await prefixes.drop()
})

const CELEB = 'user:celeb'
const CHUNK = 10
/** 300 followers whose name order is their number's order. */
const FOLLOWERS = Array.from({ length: 300 }, (_, i) => `timeline:f${String(i).padStart(3, '0')}`)
/** Read lately: every tenth follower, and a run of 25 (more than a chunk writes) from f150. */
const ACTIVE = FOLLOWERS.filter((_, i) => i % 10 === 0 || (i >= 150 && i < 175))
const INACTIVE = FOLLOWERS.filter((f) => !ACTIVE.includes(f))
/** Read two days ago: outside the default window of a day. */
const STALE = 'timeline:f005'
const NEVER = { flushMs: 3_600_000 }

/** A statement that records reads (the schema's own DDL names the table too). */
const upsertsReads = (text: string) => /^INSERT INTO "\w+"\.feed_reads/.test(text)

type AnyStore = PostgresStore | RedisStore

/** Opens a PostgreSQL store on a schema of its own; `walk: 'bucket'` walks as a cluster does. */
async function openPg(options: PostgresOptions & { walk?: 'bucket'; url?: string } = {}) {
  const schema = schemas.name()
  const { walk, url, ...rest } = options
  const store = await openPostgresStore(url ?? PG_URL, {
    readTiming: NEVER,
    ...rest,
    schema,
    ...(walk === 'bucket'
      ? {
          // The store's own tables, walked in bucket order.
          timelines: (context) =>
            Object.assign(new PostgresTableTimelines(context), { followers: bucketWalk(schema) }),
        }
      : {}),
  })
  return { store, schema }
}

/** Follows, the active followers' reads (through the store), the stale read, and the job. */
async function setUp(store: AnyStore, schema: string): Promise<FanoutJob> {
  for (let i = 0; i < FOLLOWERS.length; i += 100) {
    await store.write({ follow: FOLLOWERS.slice(i, i + 100).map((source) => ({ source, target: CELEB })) })
  }
  for (const feed of ACTIVE) await store.timelines.readFlat(feed, { limit: 10, offset: 0 })
  await store.feedReads.flush()
  await schemas.rows(
    `INSERT INTO "${schema}".feed_reads (feed, read_at) VALUES ($1, now() - interval '2 days')`,
    [STALE],
  )
  const job: FanoutJob = {
    id: 'j1',
    op: 'add',
    feed: CELEB,
    sk: sk(1),
    shapes: { timeline: { kind: 'flat' } },
    cursor: null,
  }
  const [accepted] = await store.write({ activities: [{ sk: sk(1), body: '{"n":1}' }], fanout: [job] })
  assert.ok(accepted)
  return accepted
}

/** Followers holding the activity: PostgreSQL's entries, or Redis's for a Redis store. */
async function holders(store: AnyStore, schema: string): Promise<string[]> {
  if ('timelines' in store) {
    const held: string[] = []
    for (const feed of FOLLOWERS)
      if ((await store.timelines.getEntries(feed, [sk(1)])).size > 0) held.push(feed)
    return held
  }
  const rows = await schemas.rows<{ feed: string }>(
    `SELECT feed FROM "${schema}".entries WHERE sk = $1 AND origin = $2 ORDER BY feed`,
    [sk(1), CELEB],
  )
  return rows.map((r) => r.feed)
}

/**
 * Runs chunks until every active follower holds the activity (no inactive one may hold it by
 * then), then to the end; every follower then holds it once. Returns the chunks each part took.
 */
async function deliversActiveFirst(store: AnyStore, schema: string, job: FanoutJob) {
  let next: FanoutJob | null = job
  let chunks = 0
  for (;;) {
    next = await store.jobs.runFanout(next, CHUNK)
    chunks++
    const held = new Set(await holders(store, schema))
    if (ACTIVE.every((f) => held.has(f))) {
      assert.deepEqual(
        INACTIVE.filter((f) => held.has(f)),
        [],
        'no inactive follower before every active one',
      )
      break
    }
    assert.ok(next, 'the job ended before every active follower had the activity')
  }
  const activeChunks = chunks
  while (next) {
    next = await store.jobs.runFanout(next, CHUNK)
    chunks++
  }
  assert.deepEqual(await holders(store, schema), FOLLOWERS)
  for (const feed of FOLLOWERS) {
    const page = await store.timelines.readFlat(feed, { limit: 5, offset: 0 })
    assert.deepEqual(
      page.map((e) => [e.sk, e.origin]),
      [[sk(1), CELEB]],
      feed,
    )
  }
  return { activeChunks, chunks }
}

describe('fan-out priority on PostgreSQL', { skip }, () => {
  it('delivers to every recently read follower first, then to all 300 once (walk by name)', async () => {
    const { store, schema } = await openPg()
    try {
      const job = await setUp(store, schema)
      const { activeChunks, chunks } = await deliversActiveFirst(store, schema, job)
      // The full walk alone would reach f290 in chunk 30; the priority walk reads 40 followers a
      // chunk (8 reads) and writes the run of 25 in three chunks.
      assert.ok(activeChunks <= 10, `${activeChunks} chunks until every active follower had it`)
      assert.ok(chunks <= activeChunks + 31, `${chunks} chunks in all`)
    } finally {
      await store.close()
    }
  })

  it('delivers to recently read followers first when walking by hash bucket, as on a cluster', async () => {
    const { store, schema } = await openPg({ walk: 'bucket' })
    try {
      const job = await setUp(store, schema)
      const { activeChunks } = await deliversActiveFirst(store, schema, job)
      assert.ok(activeChunks <= 10, `${activeChunks} chunks until every active follower had it`)
    } finally {
      await store.close()
    }
  })

  it('walks followers by name from the first chunk with the window 0, and records no read', async () => {
    const statements: string[] = []
    const { store, schema } = await openPg({
      url: `${PG_URL}?active=0`,
      onQuery: (text) => void statements.push(text),
    })
    try {
      const job = await setUp(store, schema)
      assert.equal(statements.filter(upsertsReads).length, 0)
      const next = await store.jobs.runFanout(job, CHUNK)
      assert.deepEqual(await holders(store, schema), FOLLOWERS.slice(0, CHUNK))
      assert.equal(next?.cursor, FOLLOWERS[CHUNK - 1])
    } finally {
      await store.close()
    }
  })

  it('fills the first chunk of a small job with inactive followers: as many chunks as without priority', async () => {
    const { store, schema } = await openPg()
    try {
      const few = FOLLOWERS.slice(0, 25)
      await store.write({ follow: few.map((source) => ({ source, target: 'user:small' })) })
      await store.timelines.readFlat(few[24], { limit: 1, offset: 0 })
      await store.feedReads.flush()
      const [job] = await store.write({
        activities: [{ sk: sk(2), body: '{}' }],
        fanout: [
          {
            id: 'j2',
            op: 'add',
            feed: 'user:small',
            sk: sk(2),
            shapes: { timeline: { kind: 'flat' } },
            cursor: null,
          },
        ],
      })
      const first = await store.jobs.runFanout(job, CHUNK)
      const rows = await schemas.rows<{ feed: string }>(
        `SELECT feed FROM "${schema}".entries WHERE sk = $1 ORDER BY feed`,
        [sk(2)],
      )
      // The active f024, then the first nine by name.
      assert.deepEqual(
        rows.map((r) => r.feed),
        [...few.slice(0, 9), few[24]],
      )
      let chunks = 1
      for (let next = first; next; chunks++) next = await store.jobs.runFanout(next, CHUNK)
      assert.equal(chunks, 3)
    } finally {
      await store.close()
    }
  })

  it('finishes a job whose cursor an older Eddy wrote (a follower name), and restarts on an unknown one', async () => {
    const { store, schema } = await openPg()
    try {
      const job = await setUp(store, schema)
      await schemas.rows(`UPDATE "${schema}".fanout_jobs SET cursor = 'timeline:f149'`)
      for (let next: FanoutJob | null = job; next; ) next = await store.jobs.runFanout(next, CHUNK)
      // The older walk had handled up to f149; this one goes on after it.
      assert.deepEqual(await holders(store, schema), FOLLOWERS.slice(150))

      const [again] = await store.write({ fanout: [{ ...job, id: 'j3', cursor: null }] })
      await schemas.rows(`UPDATE "${schema}".fanout_jobs SET cursor = '!zz:not a cursor'`)
      for (let next: FanoutJob | null = again; next; ) next = await store.jobs.runFanout(next, CHUNK)
      assert.deepEqual(await holders(store, schema), FOLLOWERS)
    } finally {
      await store.close()
    }
  })

  it('a chunk of the priority walk killed mid-way leaves its cursor; running on delivers once', async () => {
    const { store, schema } = await openPg()
    try {
      const job = await setUp(store, schema)
      const first = await store.jobs.runFanout(job, CHUNK)
      const [before] = await schemas.rows<{ cursor: string }>(`SELECT cursor FROM "${schema}".fanout_jobs`)
      assert.equal(before.cursor, first?.cursor)
      const blocker = await schemas.admin.connect()
      let error: unknown
      try {
        await blocker.query('BEGIN')
        await blocker.query(`LOCK TABLE "${schema}".entries IN EXCLUSIVE MODE`)
        const pending = store.jobs.runFanout(job, CHUNK).then(
          () => assert.fail('the chunk should have failed'),
          (e: unknown) => e,
        )
        let pid = 0
        await eventually(async () => {
          const [row] = await schemas.rows<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
            [`%"${schema}".entries%`],
          )
          pid = row?.pid ?? 0
          return pid !== 0
        }, 'the chunk waits to write its entries')
        await schemas.admin.query('SELECT pg_terminate_backend($1)', [pid])
        error = await pending
      } finally {
        await blocker.query('ROLLBACK')
        blocker.release()
      }
      assert.ok(error instanceof StoreError && error.reason === 'lost', String(error))
      const [after] = await schemas.rows<{ cursor: string }>(`SELECT cursor FROM "${schema}".fanout_jobs`)
      assert.equal(after.cursor, before.cursor)
      await deliversActiveFirst(store, schema, job)
    } finally {
      await store.close()
    }
  })

  it('records reads in one batched upsert, once per feed and interval, outside the read', async () => {
    const statements: string[] = []
    const { store, schema } = await openPg({ onQuery: (text) => void statements.push(text) })
    const recorded = () => statements.filter(upsertsReads)
    try {
      for (let i = 0; i < 20; i++) await store.timelines.readFlat('timeline:a', { limit: 5, offset: 0 })
      for (let i = 0; i < 5; i++) await store.timelines.readFlat('timeline:b', { limit: 5, offset: i })
      await store.timelines.readGroups('notification:c', { limit: 5, offset: 0 }, 3)
      // Not a page of entries (the counts a notification badge reads): not a sign of a reader.
      await store.timelines.readGroups('notification:d', { limit: 0, offset: 0 }, 1, { counts: true })
      assert.deepEqual(recorded(), [], 'a read waits for no write')
      await store.feedReads.flush()
      assert.equal(recorded().length, 1)
      const rows = await schemas.rows<{ feed: string }>(
        `SELECT feed FROM "${schema}".feed_reads ORDER BY feed`,
      )
      assert.deepEqual(
        rows.map((r) => r.feed),
        ['notification:c', 'timeline:a', 'timeline:b'],
      )
      // Read again within the interval (a minute): nothing more to write.
      for (let i = 0; i < 3; i++) await store.timelines.readFlat('timeline:a', { limit: 5, offset: 0 })
      await store.feedReads.flush()
      assert.equal(recorded().length, 1)
    } finally {
      await store.close()
    }
  })

  it('writes a feed again once its interval has passed, moving its time forward only', async () => {
    const statements: string[] = []
    const { store, schema } = await openPg({
      readTiming: { everyMs: 0, flushMs: 3_600_000 },
      onQuery: (text) => void statements.push(text),
    })
    try {
      await schemas.rows(
        `INSERT INTO "${schema}".feed_reads VALUES ('timeline:b', now() + interval '1 hour')`,
      )
      for (const round of [1, 2]) {
        await store.timelines.readFlat('timeline:a', { limit: 1, offset: 0 })
        await store.timelines.readFlat('timeline:b', { limit: 1, offset: 0 })
        await store.feedReads.flush()
        assert.equal(statements.filter(upsertsReads).length, round)
      }
      const rows = await schemas.rows<{ feed: string; future: boolean }>(
        `SELECT feed, read_at > now() AS future FROM "${schema}".feed_reads ORDER BY feed`,
      )
      assert.deepEqual(
        rows.map((r) => [r.feed, r.future]),
        [
          ['timeline:a', false],
          ['timeline:b', true],
        ],
      )
    } finally {
      await store.close()
    }
  })

  it('never fails a read when recording it fails, and records the feed at its next read', async () => {
    const { store, schema } = await openPg()
    try {
      await schemas.rows(`ALTER TABLE "${schema}".feed_reads RENAME TO feed_reads_away`)
      assert.deepEqual(await store.timelines.readFlat('timeline:a', { limit: 5, offset: 0 }), [])
      await store.feedReads.flush()
      await schemas.rows(`ALTER TABLE "${schema}".feed_reads_away RENAME TO feed_reads`)
      await store.timelines.readFlat('timeline:a', { limit: 5, offset: 0 })
      await store.feedReads.flush()
      const rows = await schemas.rows<{ feed: string }>(`SELECT feed FROM "${schema}".feed_reads`)
      assert.deepEqual(
        rows.map((r) => r.feed),
        ['timeline:a'],
      )
    } finally {
      await store.close()
    }
  })

  it('refuses an active window it cannot read, saying what it takes', async () => {
    for (const bad of ['24', '1w', '-1h', '366d']) {
      await assert.rejects(openPostgresStore(`${PG_URL}?active=${bad}`), (error: StoreError) => {
        assert.equal(error.reason, 'config')
        assert.match(
          error.message,
          /the URL parameter active must be 0 \(no priority\) or a duration up to 365d/,
        )
        return true
      })
    }
    await assert.rejects(
      openPostgresStore(PG_URL, { activeWindowMs: 1.5 }),
      /activeWindowMs must be a whole number/,
    )
  })
})

describe('fan-out priority on PostgreSQL + Redis', { skip: redisSkip }, () => {
  const open = (query: string) =>
    openRedisStore({
      store: `${PG_URL}?schema=${schemas.name()}`,
      timelines: `${REDIS_URL}${query}`,
      prefix: prefixes.name(),
      readTiming: NEVER,
    })

  it('delivers to recently read followers first (reads recorded through Redis reads), then to all once', async () => {
    const store = await open('?active=1d')
    try {
      const schema = store.session.target.schema
      const job = await setUp(store, schema)
      const { activeChunks } = await deliversActiveFirst(store, schema, job)
      assert.ok(activeChunks <= 10, `${activeChunks} chunks until every active follower had it`)
    } finally {
      await store.close()
    }
  })

  it('walks by name from the first chunk with ?active=0', async () => {
    const store = await open('?active=0')
    try {
      const schema = store.session.target.schema
      const job = await setUp(store, schema)
      await store.jobs.runFanout(job, CHUNK)
      assert.deepEqual(await holders(store, schema), FOLLOWERS.slice(0, CHUNK))
      const [{ n }] = await schemas.rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".feed_reads`,
      )
      assert.equal(n, 1, 'only the stale row the test wrote: reads are not recorded')
    } finally {
      await store.close()
    }
  })

  it('refuses a bad ?active= on the timelines location', async () => {
    await assert.rejects(open('?active=soon'), (error: StoreError) => {
      assert.ok(error instanceof StoreError)
      assert.equal(error.reason, 'config')
      assert.match(error.message, /timelines active must be 0 \(no priority\) or a duration/)
      return true
    })
  })
})
