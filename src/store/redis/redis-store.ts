/**
 * PostgreSQL + Redis: PostgreSQL keeps what may not be lost (activity bodies, follows, fan-out job
 * rows, documents, reactions, the audit log, and every feed's direct entries, from which Redis can
 * be rebuilt); Redis keeps the timelines and group state that reads and fan-out hit. It is the
 * PostgreSQL store with its timeline backend swapped: each write and each fan-out chunk is still
 * one PostgreSQL transaction, and the Redis step runs inside it, just before COMMIT.
 *
 * How the seven rules of store.ts hold across the two systems:
 * 1. **Atomic writes.** A write's Redis step (idempotent scripts) runs after its PostgreSQL
 *    statements and before COMMIT: if Redis fails, PostgreSQL rolls back and the call rejects
 *    (503), so an outage leaves nothing half-accepted; an accepted fan-out job that fails a
 *    chunk stays at its last committed cursor and resumes when Redis is back. The one gap is a
 *    PostgreSQL failure after the Redis step (the connection or server lost at COMMIT): Redis may
 *    then hold entries of a write that did not commit; reads skip entries without a stored body,
 *    and `eddy rebuild-timelines` restores Redis from PostgreSQL.
 * 2. **Idempotent entries.** Every script finds an entry before adding it and changes nothing
 *    (group counters included) when it exists, so a chunk re-run after a rollback, a failover
 *    retry or a second worker delivers once.
 * 3. **Reads see committed data**, with the gap of rule 1; each Redis read is one command or one
 *    script (one snapshot), bodies are then read from PostgreSQL.
 * 4. **Follows and adds never miss each other, and unfollows leave nothing**: the PostgreSQL
 *    store's locks (its job rows, and one lock per followed feed that chunks and copies share and
 *    unfollows take exclusively) are held while the Redis step runs, so the order in Redis is the
 *    commit order in PostgreSQL.
 * 5. **Jobs keyed by (feed, sk), upserted**: job rows stay in PostgreSQL; a chunk writes Redis
 *    while it holds its job row locked, and advances the cursor only if that write succeeded.
 * 6. **Leases distribute work**: unchanged (PostgreSQL rows). BullMQ, when used, only hands jobs
 *    out faster; the rows stay the truth.
 * 7. **Optimistic writes**: bodies live in PostgreSQL, compared under FOR UPDATE as before.
 *
 * Timelines are capped in Redis (`cap`, 1,000 entries or groups per feed by default, as
 * Stream-Framework keeps): older entries are dropped from Redis; pages past the cap are read from
 * PostgreSQL as fan-out on read (past-cap.ts): flat ones here, grouped ones by the engine, which
 * groups the entries `readPastCap` returns (engine/past-cap-groups.ts).
 */
import type { FeedReads } from '../postgres/feed-reads.js'
import type { PostgresStore } from '../postgres/postgres-store.js'
import type { Session } from '../postgres/session.js'
import { TimelineWriter } from '../postgres/timeline-writer.js'
import type { TimelineBackend } from '../postgres/timelines.js'
import { checkWindow } from '../shared/window.js'
import type {
  AuditStore,
  ClaimOptions,
  DeadFanoutJob,
  DocumentStore,
  EntryRemove,
  EntryWrite,
  FanoutDelivered,
  FanoutFailure,
  FanoutJob,
  FlatEntry,
  FollowCountQuery,
  FollowQuery,
  FollowRow,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  PastCapSlice,
  ReactionStore,
  Store,
  StoredActivity,
  StoreTraits,
  WriteBatch,
} from '../store.js'
import { DataVersion } from './data-version.js'
import type { RedisClient } from './driver.js'
import { PastCap } from './past-cap.js'
import { bucketWalk, timelineStatements } from './pg-schema.js'
import type { RedisTimelines } from './timelines.js'

/**
 * The timeline backend the PostgreSQL store runs inside its transactions: direct entries (no
 * origin) are also written to PostgreSQL's own entry tables, the durable record a rebuild reads;
 * everything goes to Redis. On a cluster, chunks walk followers in bucket order (few slots per
 * chunk); a single Redis takes a chunk in one call whatever the keys, so the store's own walk by
 * name serves. Either walk runs twice per job, recently read followers first (fan-out priority,
 * postgres/fanout.ts); this store's reads record which feeds were read, as PostgreSQL's do.
 */
export function redisBackend(session: Session, timelines: RedisTimelines, cluster: boolean): TimelineBackend {
  const direct = new TimelineWriter(session.target.schema)
  return {
    followers: cluster ? bucketWalk(session.target.schema) : undefined,
    async apply(db, add = [], remove = [], byOrigin = []) {
      const directAdd = add.filter((e) => e.origin === null)
      const directRemove = remove.filter((r: EntryRemove) => r.origin === undefined || r.origin === null)
      if (directAdd.length > 0 || directRemove.length > 0) await direct.apply(db, directAdd, directRemove)
      await timelines.apply(add as EntryWrite[], remove, byOrigin)
    },
    // Entries that came through a follow live in Redis only: nothing for PostgreSQL here.
    fanout(_db, sk, origin, feeds, shapes, report) {
      return timelines.fanout(sk, origin, feeds, shapes, report)
    },
  }
}

/**
 * Calls wait on the network; a chunk is a few PostgreSQL round trips plus one Lua call per
 * bucket, and 2,000 followers keep each call's hold on Redis's single thread to a few ms.
 */
export const REDIS_TRAITS: StoreTraits = { blocksEventLoop: false, fanoutChunkSize: 2_000 }

/** A {@link Store} on PostgreSQL with timelines in Redis; open it with `openRedisStore`. */
export class RedisStore implements Store {
  readonly name: string
  readonly traits = REDIS_TRAITS
  readonly documents: DocumentStore
  readonly reactions: ReactionStore
  readonly audit: AuditStore
  /** The Redis timelines (for `eddy rebuild-timelines` and the tests). */
  readonly timelines: RedisTimelines
  readonly #pg: PostgresStore
  readonly #session: Session
  readonly #redis: RedisClient
  readonly #st: ReturnType<typeof timelineStatements>
  readonly #pastCap: PastCap
  readonly #changes: DataVersion
  #closed = false

  constructor(
    pg: PostgresStore,
    session: Session,
    redis: RedisClient,
    timelines: RedisTimelines,
    name: string,
  ) {
    this.#pg = pg
    this.#session = session
    this.#redis = redis
    this.timelines = timelines
    this.name = name
    this.documents = pg.documents
    this.reactions = pg.reactions
    this.audit = pg.audit
    this.#st = timelineStatements(session.target.schema)
    this.#pastCap = new PastCap(session)
    this.#changes = new DataVersion(redis, timelines.settings.prefix, timelines.location)
  }

  /**
   * The data version every server and worker on this Redis and prefix shares (data-version.ts):
   * writes, fan-out chunks and marking reads move it after they commit, before they resolve.
   */
  dataVersion(): Promise<string> {
    this.#session.check()
    return this.#changes.read()
  }

  /** Moves the data version: Redis was written directly (a rebuild), so cached pages are stale. */
  changed(): Promise<void> {
    return this.#changes.bump()
  }

  /** Runs `work` (which commits), then moves the data version before resolving with its result. */
  async #changing<T>(work: Promise<T>): Promise<T> {
    let result: T
    try {
      result = await work
    } catch (error) {
      // A failed call may still have committed (a connection lost at COMMIT): move the version
      // anyway, without making the caller wait for it.
      this.#changes.bump().catch(() => {})
      throw error
    }
    await this.#changes.bump()
    return result
  }

  /** When feeds were last read (PostgreSQL's `feed_reads`), for fan-out priority. */
  get feedReads(): FeedReads {
    return this.#pg.feedReads
  }

  /** The PostgreSQL session (for the rebuild, which reads PostgreSQL's tables directly). */
  get session(): Session {
    return this.#session
  }

  write(batch: WriteBatch): Promise<FanoutJob[]> {
    return this.#changing(this.#pg.write(batch))
  }

  runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null> {
    return this.#changing(this.#pg.runFanout(job, chunkSize, delivered))
  }

  claimFanout(options: ClaimOptions): Promise<FanoutJob[]> {
    return this.#pg.claimFanout(options)
  }

  // Job rows, dead ones included, live in PostgreSQL (rule 6 above).
  failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    return this.#pg.failFanout(job, failure)
  }

  deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    return this.#pg.deadFanout(limit)
  }

  retryFanout(ids: string[] | 'all'): Promise<number> {
    return this.#pg.retryFanout(ids)
  }

  getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    return this.#pg.getActivities(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#session.check()
    if (foreignId === '') return []
    const rows = await this.#session.once('findByForeignId', (db) =>
      db.rows<{ sk: string }>(this.#st.byForeignId, [foreignId]),
    )
    const held = await this.timelines.entries(
      feed,
      rows.map((r) => r.sk),
    )
    return rows.map((r) => r.sk).filter((sk) => held.has(sk))
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#session.check()
    return this.timelines.entries(feed, [...new Set(sks)])
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#session.check()
    checkWindow(page.limit, page.offset)
    if (page.limit > 0) this.#pg.feedReads.note(feed)
    const read = await this.timelines.readFlat(feed, page)
    let entries = read.entries
    if (read.capped && entries.length < page.limit) {
      // Past Redis's cap: the rest of the page from PostgreSQL (past-cap.ts).
      const offset = Math.max(0, page.offset - read.capped.within)
      const rest = await this.#pastCap.read(
        feed,
        read.capped.oldest,
        page,
        offset,
        page.limit - entries.length,
      )
      entries = [...entries, ...rest]
    }
    const bodies = await this.#pg.getActivities(entries.map((e) => e.sk))
    // An entry without a body belongs to a write PostgreSQL did not commit (see rule 1): skipped.
    return entries.flatMap((e) => {
      const body = bodies.get(e.sk)?.body
      return body === undefined ? [] : [{ sk: e.sk, origin: e.origin, body }]
    })
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#session.check()
    checkWindow(limit, 0)
    return this.timelines.newest(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    this.#session.check()
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    if (page.limit > 0) this.#pg.feedReads.note(feed)
    // Marks change what later pages show (is_seen, is_read, the counts).
    const marks = options?.seen !== undefined || options?.read !== undefined
    const groups = this.timelines.groups(feed, page, perGroup, options)
    const read = marks ? await this.#changing(groups) : await groups
    const bodies = await this.#pg.getActivities(read.groups.flatMap((g) => g.entries.map((e) => e.sk)))
    const out: GroupPage = {
      groups: read.groups.map((g) => ({
        id: g.id,
        group: g.group,
        firstSk: g.firstSk,
        lastSk: g.lastSk,
        activityCount: g.activityCount,
        actorCount: g.actorCount,
        seen: g.seen,
        read: g.read,
        activities: g.entries.flatMap((e) => {
          const body = bodies.get(e.sk)?.body
          return body === undefined ? [] : [{ sk: e.sk, origin: e.origin, body }]
        }),
      })),
    }
    if (read.unseen !== undefined) out.unseen = read.unseen
    if (read.unread !== undefined) out.unread = read.unread
    // Older groups are the engine's to build (it owns the grouping rules), from readPastCap.
    if (read.past) out.pastCap = read.past
    return out
  }

  async readPastCap(feed: string, below: string, limit: number, floor?: string): Promise<PastCapSlice> {
    this.#session.check()
    checkWindow(limit, 0)
    if (limit === 0) return { entries: [] }
    const page: PageQuery = { limit, offset: 0 }
    if (floor !== undefined) page.gte = floor
    const rows = await this.#pastCap.read(feed, below, page, 0, limit)
    const next = rows.length === limit ? rows[rows.length - 1].sk : undefined
    // Entries Redis still holds belong to its groups (an old activity of a held group).
    const held = await this.timelines.entries(
      feed,
      rows.map((r) => r.sk),
    )
    const kept = rows.filter((r) => !held.has(r.sk))
    const bodies = await this.#pg.getActivities(kept.map((e) => e.sk))
    const entries = kept.flatMap((e) => {
      const body = bodies.get(e.sk)?.body
      return body === undefined ? [] : [{ sk: e.sk, origin: e.origin, body }]
    })
    return next === undefined ? { entries } : { entries, next }
  }

  followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    return this.#pg.followers(feed, query)
  }

  following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    return this.#pg.following(feed, query)
  }

  countFollows(feed: string, query: FollowCountQuery): Promise<{ followers?: number; following?: number }> {
    return this.#pg.countFollows(feed, query)
  }

  /** Closes the PostgreSQL pool (if the store opened it) and the Redis connection. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#changes.close()
    try {
      await this.#pg.close()
    } finally {
      await this.#redis.quit().catch(() => this.#redis.disconnect())
    }
  }
}
