/**
 * PostgreSQL + Redis: PostgreSQL keeps what may not be lost (activity bodies, follows, fan-out job
 * rows, documents, reactions, the audit log, and every feed's direct entries, from which Redis can
 * be rebuilt); Redis keeps the timelines and group state that reads and fan-out hit. It is the
 * PostgreSQL store composed with this timelines part (`RedisTimelineStore`): each write and each fan-out chunk is still
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
import { PostgresTimelineWriter } from '../postgres/postgres-timeline-writer.js'
import type { Runner, Session } from '../postgres/session.js'
import type { OriginRemove, PostgresTimelines, PostgresTimelinesContext } from '../postgres/timelines.js'
import { checkWindow } from '../shared/window.js'
import type {
  ActivityStore,
  EntryRemove,
  EntryShape,
  EntryWrite,
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  PastCapSlice,
  WriteBatch,
} from '../store.js'
import { REDIS_CAPABILITIES } from './capabilities.js'
import { DataVersion } from './data-version.js'
import type { RedisClient } from './driver.js'
import { PastCap } from './past-cap.js'
import { bucketWalk, timelineStatements } from './pg-schema.js'
import type { RedisTimelines } from './timelines.js'

/**
 * The timelines part of a PostgreSQL store that keeps timelines in Redis. Its writes run inside
 * the store's transactions: direct entries (no origin) are also written to PostgreSQL's own
 * entry tables, the durable record a rebuild reads; everything goes to Redis. On a cluster,
 * chunks walk followers in bucket order (few slots per chunk); a single Redis takes a chunk in
 * one call whatever the keys, so the store's own walk by name serves. Either walk runs twice per
 * job, recently read followers first (fan-out priority, postgres/postgres-fanout-jobs.ts); reads
 * record which feeds were read, as PostgreSQL's do. Reads join bodies from the store's activities part.
 */
export class RedisTimelineStore implements PostgresTimelines {
  readonly capabilities = REDIS_CAPABILITIES
  readonly location: string
  readonly followers
  /** The Redis timelines themselves (for `eddy rebuild-timelines` and the tests). */
  readonly redis: RedisTimelines
  readonly #client: RedisClient
  readonly #session: Session
  readonly #feedReads: FeedReads
  readonly #activities: ActivityStore
  readonly #direct: PostgresTimelineWriter
  readonly #st: ReturnType<typeof timelineStatements>
  readonly #pastCap: PastCap
  readonly #changes: DataVersion
  #closed = false

  /** `client` is closed with the part; `cluster`: the Redis is a cluster (bucket walk). */
  constructor(
    context: PostgresTimelinesContext,
    redis: RedisTimelines,
    client: RedisClient,
    cluster: boolean,
  ) {
    const schema = context.session.target.schema
    this.redis = redis
    this.location = redis.location
    this.#client = client
    this.#session = context.session
    this.#feedReads = context.feedReads
    this.#activities = context.activities
    this.#direct = new PostgresTimelineWriter(schema)
    this.#st = timelineStatements(schema)
    this.#pastCap = new PastCap(context.session)
    this.followers = cluster ? bucketWalk(schema) : undefined
    this.#changes = new DataVersion(client, redis.keys, cluster, redis.location)
  }

  /**
   * The version every server and worker on this Redis and prefix shares (data-version.ts): it
   * moves on changes that may show in pages of any feed; `feedVersions` has each feed's own.
   */
  dataVersion(): Promise<string> {
    this.#session.check()
    return this.#changes.read()
  }

  /**
   * The versions of `feeds` (data-version.ts): each moves with every change a page of its feed
   * could show, committed by any server or worker; one Redis call (one per slot on a cluster).
   */
  feedVersions(feeds: string[]): Promise<string[]> {
    this.#session.check()
    return this.#changes.feeds(feeds)
  }

  /**
   * After a store write commits: moves on the versions of the feeds it touched, or the shared
   * version when it may have replaced a body some page shows. After a fan-out chunk (no batch)
   * there is nothing left to do: its scripts moved its feeds' versions with the entries.
   */
  committed(batch?: WriteBatch): Promise<void> {
    if (!batch) return Promise.resolve()
    const { feeds, everything } = touched(batch)
    return this.#changes.bump(feeds, everything)
  }

  /** Moves on the shared version: every feed's pages may have changed (after a rebuild). */
  changedEverything(): Promise<void> {
    return this.#changes.bump([], true)
  }

  async apply(
    db: Runner,
    add: EntryWrite[] = [],
    remove: EntryRemove[] = [],
    byOrigin: OriginRemove[] = [],
  ): Promise<void> {
    const directAdd = add.filter((e) => e.origin === null)
    const directRemove = remove.filter((r) => r.origin === undefined || r.origin === null)
    if (directAdd.length > 0 || directRemove.length > 0) await this.#direct.apply(db, directAdd, directRemove)
    await this.redis.apply(add, remove, byOrigin)
  }

  // Entries that came through a follow live in Redis only: nothing for PostgreSQL here.
  fanout(
    _db: Runner,
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Promise<string[] | undefined> {
    return this.redis.fanout(sk, origin, feeds, shapes, report)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#session.check()
    if (foreignId === '') return []
    const rows = await this.#session.once('findByForeignId', (db) =>
      db.rows<{ sk: string }>(this.#st.byForeignId, [foreignId]),
    )
    const held = await this.redis.entries(
      feed,
      rows.map((r) => r.sk),
    )
    return rows.map((r) => r.sk).filter((sk) => held.has(sk))
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#session.check()
    return this.redis.entries(feed, [...new Set(sks)])
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#session.check()
    checkWindow(page.limit, page.offset)
    if (page.limit > 0) this.#feedReads.note(feed)
    const read = await this.redis.readFlat(feed, page)
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
    return this.#withBodies(entries)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#session.check()
    checkWindow(limit, 0)
    return this.redis.newest(feed, limit)
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
    if (page.limit > 0) this.#feedReads.note(feed)
    // A marking read's script moves the feed's version itself (lua.ts, GROUPS).
    const read = await this.redis.groups(feed, page, perGroup, options)
    const bodies = await this.#activities.getActivities(
      read.groups.flatMap((g) => g.entries.map((e) => e.sk)),
    )
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
        activities: joinBodies(g.entries, bodies),
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
    const held = await this.redis.entries(
      feed,
      rows.map((r) => r.sk),
    )
    const kept = rows.filter((r) => !held.has(r.sk))
    const entries = await this.#withBodies(kept)
    return next === undefined ? { entries } : { entries, next }
  }

  /** Closes the Redis connection. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#changes.close()
    await this.#client.quit().catch(() => this.#client.disconnect())
  }

  /** The entries with their bodies; an entry without one belongs to a write PostgreSQL did not commit (rule 1). */
  async #withBodies(entries: { sk: string; origin: string | null }[]): Promise<FlatEntry[]> {
    return joinBodies(entries, await this.#activities.getActivities(entries.map((e) => e.sk)))
  }
}

/** `entries` with their bodies, leaving out those without one (see `#withBodies`). */
function joinBodies(
  entries: { sk: string; origin: string | null }[],
  bodies: Map<string, { body: string }>,
): FlatEntry[] {
  return entries.flatMap((e) => {
    const body = bodies.get(e.sk)?.body
    return body === undefined ? [] : [{ sk: e.sk, origin: e.origin, body }]
  })
}

/**
 * The feeds whose pages a committed batch may change (entries, follows: pages past the cap read
 * the feeds followed now), and whether it may have replaced a body that pages of other feeds
 * show: an update (a body expected to exist), or an add with a foreign_id that was not expected
 * to be new (the same foreign_id and time may come back with another body). Without a
 * foreign_id, an activity's sort key is a hash of its whole text (engine/ids.ts), so adding it
 * again writes the same body.
 */
function touched(batch: WriteBatch): { feeds: string[]; everything: boolean } {
  const expected = new Map<string, boolean>()
  for (const e of batch.expect ?? []) expected.set(e.sk, e.body !== null)
  const everything = (batch.activities ?? []).some((a) => expected.get(a.sk) ?? Boolean(a.foreignId))
  const feeds = new Set<string>()
  if (everything) return { feeds: [], everything }
  for (const e of batch.add ?? []) feeds.add(e.feed)
  for (const c of batch.copies ?? []) for (const e of c.entries) feeds.add(e.feed)
  for (const r of batch.remove ?? []) feeds.add(r.feed)
  for (const o of batch.removeByOrigin ?? []) feeds.add(o.feed)
  for (const f of batch.follow ?? []) feeds.add(f.source)
  for (const f of batch.unfollow ?? []) feeds.add(f.source)
  return { feeds: [...feeds], everything }
}
