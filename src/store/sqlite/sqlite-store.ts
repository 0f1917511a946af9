/**
 * The SQLite store: one better-sqlite3 connection, statements prepared once, and every write in
 * one BEGIN IMMEDIATE transaction, so writers in other processes on the same file wait for each
 * other (busy_timeout) instead of interleaving read-modify-writes of the same groups.
 */
import { closedError } from '../closed.js'
import type {
  ChunkBuilder,
  DocRow,
  FanoutJob,
  FanoutStart,
  FlatEntry,
  FollowQuery,
  FollowRow,
  GroupRow,
  MarkTarget,
  PageQuery,
  Store,
  StoredActivity,
  WriteBatch,
} from '../store.js'
import { WriteConflict } from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'
import { FanoutRunner } from './fanout.js'
import { TimelineReader } from './timeline-reader.js'
import { TimelineWriter } from './timeline-writer.js'

interface DocRecord {
  kind: string
  id: string
  data: string
  created_at: string
  updated_at: string
}

/** A {@link Store} on one SQLite connection; open it with `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly name: string
  readonly #db: Database
  readonly #reader: TimelineReader
  readonly #fanout: FanoutRunner
  readonly #statements: Statements
  readonly #write: Transaction<(batch: WriteBatch, fanout?: FanoutStart) => FanoutJob[]>
  readonly #runFanout: Transaction<
    (job: FanoutJob, build: ChunkBuilder, chunkSize: number) => FanoutJob | null
  >
  readonly #mark: Transaction<(feed: string, seen?: MarkTarget, read?: MarkTarget) => void>
  readonly #deleteDocs: Transaction<(kind: string, ids: string) => number>
  readonly #putDoc: Transaction<
    (kind: string, id: string, data: string, mode: 'insert' | 'update' | 'upsert') => DocRecord | undefined
  >

  /** Wraps an open, configured and migrated connection (see `openSqliteStore`). */
  constructor(db: Database, name: string) {
    this.#db = db
    this.name = name
    const timeline = new TimelineWriter(db)
    this.#reader = new TimelineReader(db)
    this.#fanout = new FanoutRunner(db, timeline)
    this.#statements = prepareStatements(db)
    const st = this.#statements
    this.#write = db.transaction((batch: WriteBatch, fanout?: FanoutStart) => {
      for (const e of batch.expect ?? []) {
        const row = st.body.get(e.sk) as { body: string } | undefined
        if ((row?.body ?? null) !== e.body) throw new WriteConflict(e.sk)
      }
      for (const a of batch.activities ?? []) st.putActivity.run(a.sk, a.body, a.foreignId || null)
      const now = new Date().toISOString()
      for (const f of batch.follow ?? []) st.follow.run(f.source, f.target, now, now)
      for (const f of batch.unfollow ?? []) st.unfollow.run(f.source, f.target)
      timeline.apply(batch.add, batch.remove, batch.removeByOrigin)
      for (const copy of batch.copies ?? []) {
        const sks = this.#reader.newestEntries(copy.target, copy.limit)
        if (sks.length === 0) continue
        if (!copy.withBodies) {
          timeline.apply(copy.build(sks.map((sk) => ({ sk, body: '' }))))
          continue
        }
        const found = new Map(
          (st.activities.all(JSON.stringify(sks)) as StoredActivity[]).map((r) => [r.sk, r.body]),
        )
        const bodies = sks.flatMap((sk) => (found.has(sk) ? [{ sk, body: found.get(sk)! }] : []))
        timeline.apply(copy.build(bodies))
      }
      const pending: FanoutJob[] = []
      for (const job of fanout?.jobs ?? []) {
        const next = this.#fanout.start(job, fanout!.build, fanout!.chunkSize)
        if (next) pending.push(next)
      }
      return pending
    })
    this.#runFanout = db.transaction((job: FanoutJob, build: ChunkBuilder, chunkSize: number) =>
      this.#fanout.resume(job, build, chunkSize),
    )
    this.#mark = db.transaction((feed: string, seen?: MarkTarget, read?: MarkTarget) => {
      if (seen === true) st.seenAll.run(feed)
      else if (seen && seen.length > 0) st.seenIds.run(feed, JSON.stringify(seen))
      if (read === true) st.readAll.run(feed)
      else if (read && read.length > 0) st.readIds.run(feed, JSON.stringify(read))
    })
    this.#putDoc = db.transaction((kind, id, data, mode) => {
      const statement = mode === 'insert' ? st.insertDoc : mode === 'update' ? st.updateDoc : st.upsertDoc
      return statement.get({ kind, id, data, now: new Date().toISOString() }) as DocRecord | undefined
    })
    this.#deleteDocs = db.transaction((kind: string, ids: string) => st.deleteDocs.run(kind, ids).changes)
  }

  async write(batch: WriteBatch, fanout?: FanoutStart): Promise<FanoutJob[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#write.immediate(batch, fanout)
  }

  async runFanout(job: FanoutJob, build: ChunkBuilder, chunkSize: number): Promise<FanoutJob | null> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#runFanout.immediate(job, build, chunkSize)
  }

  async pendingFanout(): Promise<FanoutJob[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#fanout.pending()
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    if (!this.#db.open) throw closedError(this.name)
    const rows = this.#statements.activities.all(JSON.stringify(sks)) as StoredActivity[]
    return new Map(rows.map((r) => [r.sk, { sk: r.sk, body: r.body }]))
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    if (!this.#db.open) throw closedError(this.name)
    if (foreignId === '') return []
    return (this.#statements.byForeignId.all(feed, foreignId) as { sk: string }[]).map((r) => r.sk)
  }

  async getEntry(feed: string, sk: string): Promise<{ origin: string | null } | undefined> {
    if (!this.#db.open) throw closedError(this.name)
    const row = this.#statements.entry.get(feed, sk) as { origin: string | null } | undefined
    return row && { origin: row.origin }
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#reader.readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#reader.newestEntries(feed, limit)
  }

  async readGroups(feed: string, page: PageQuery, perGroup: number): Promise<GroupRow[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#reader.readGroups(feed, page, perGroup)
  }

  async groupCounts(feed: string): Promise<{ unseen: number; unread: number }> {
    if (!this.#db.open) throw closedError(this.name)
    const { unseen, unread } = this.#statements.counts.get({ feed }) as { unseen: number; unread: number }
    return { unseen, unread }
  }

  async markGroups(feed: string, seen?: MarkTarget, read?: MarkTarget): Promise<void> {
    if (!this.#db.open) throw closedError(this.name)
    this.#mark.immediate(feed, seen, read)
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#follows(feed, query, 'followers')
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#follows(feed, query, 'following')
  }

  async countFollows(feed: string, direction: 'followers' | 'following', slugs?: string[]): Promise<number> {
    if (!this.#db.open) throw closedError(this.name)
    const st = this.#statements
    const count = (statement: Statement, args: unknown) => (statement.get(args) as { n: number }).n
    if (!slugs || slugs.length === 0) {
      return count(direction === 'followers' ? st.countFollowers : st.countFollowing, { feed })
    }
    const statement = direction === 'followers' ? st.countFollowersFrom : st.countFollowingFrom
    let total = 0
    for (const slug of new Set(slugs)) total += count(statement, { feed, slug })
    return total
  }

  async getDocs(kind: string, ids: string[]): Promise<DocRow[]> {
    if (!this.#db.open) throw closedError(this.name)
    const rows = this.#statements.docs.all(kind, JSON.stringify(ids)) as DocRecord[]
    const byId = new Map(rows.map((r) => [r.id, r]))
    // In the order asked for, as the memory store does (a repeated id comes back repeated).
    return ids.flatMap((id) => {
      const row = byId.get(id)
      return row ? [toDoc(row)] : []
    })
  }

  async putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: 'insert' | 'update' | 'upsert',
  ): Promise<DocRow | undefined> {
    if (!this.#db.open) throw closedError(this.name)
    const row = this.#putDoc.immediate(kind, id, JSON.stringify(data), mode)
    return row && toDoc(row)
  }

  async deleteDocs(kind: string, ids: string[]): Promise<number> {
    if (!this.#db.open) throw closedError(this.name)
    return this.#deleteDocs.immediate(kind, JSON.stringify(ids))
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close()
  }

  #follows(feed: string, query: FollowQuery, direction: 'followers' | 'following'): FollowRow[] {
    const st = this.#statements
    const { limit, offset, filter } = query
    if (filter === undefined || filter.length === 0) {
      return (direction === 'followers' ? st.followers : st.following).all(feed, limit, offset) as FollowRow[]
    }
    const statement = direction === 'followers' ? st.followersIn : st.followingIn
    return statement.all({ feed, filter: JSON.stringify(filter), limit, offset }) as FollowRow[]
  }
}

/** Every fixed statement of the store, prepared once. */
function prepareStatements(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql)
  return {
    putActivity: s('INSERT OR REPLACE INTO activities (sk, body, foreign_id) VALUES (?, ?, ?)'),
    // Re-following keeps created_at (and so the edge's place in follower lists).
    follow: s(
      `INSERT INTO follows (source, target, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET updated_at = excluded.updated_at`,
    ),
    unfollow: s('DELETE FROM follows WHERE source = ? AND target = ?'),
    activities: s('SELECT sk, body FROM activities WHERE sk IN (SELECT value FROM json_each(?))'),
    body: s('SELECT body FROM activities WHERE sk = ?'),
    entry: s('SELECT origin FROM entries WHERE feed = ? AND sk = ?'),
    byForeignId: s(
      `SELECT a.sk FROM activities AS a JOIN entries AS e ON e.feed = ? AND e.sk = a.sk
       WHERE a.foreign_id = ? ORDER BY a.sk DESC`,
    ),
    counts: s(
      `SELECT coalesce((SELECT unseen FROM feed_counts WHERE feed = :feed), 0) AS unseen,
              coalesce((SELECT unread FROM feed_counts WHERE feed = :feed), 0) AS unread`,
    ),
    seenAll: s('UPDATE feed_groups SET is_seen = 1 WHERE feed = ? AND is_seen = 0'),
    seenIds: s(
      `UPDATE feed_groups INDEXED BY feed_groups_by_id SET is_seen = 1
       WHERE feed = ? AND id IN (SELECT value FROM json_each(?))`,
    ),
    readAll: s('UPDATE feed_groups SET is_read = 1 WHERE feed = ? AND is_read = 0'),
    readIds: s(
      `UPDATE feed_groups INDEXED BY feed_groups_by_id SET is_read = 1
       WHERE feed = ? AND id IN (SELECT value FROM json_each(?))`,
    ),
    followers: s(
      `SELECT source, target, created_at, updated_at FROM follows WHERE target = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    // Filtered lists look each listed feed up (the filter is short, the follower list may be
    // huge) and sort what they find; CROSS JOIN keeps the planner from scanning instead.
    followersIn: s(
      `SELECT f.source, f.target, f.created_at, f.updated_at
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.target = :feed AND f.source = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    following: s(
      `SELECT source, target, created_at, updated_at FROM follows WHERE source = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    followingIn: s(
      `SELECT f.source, f.target, f.created_at, f.updated_at
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.source = :feed AND f.target = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    countFollowers: s('SELECT count(*) AS n FROM follows WHERE target = :feed'),
    countFollowing: s('SELECT count(*) AS n FROM follows WHERE source = :feed'),
    // A slug is a prefix `slug:`; ';' is the character after ':', so this is an index range.
    countFollowersFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE target = :feed AND source >= :slug || ':' AND source < :slug || ';'`,
    ),
    countFollowingFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE source = :feed AND target >= :slug || ':' AND target < :slug || ';'`,
    ),
    docs: s('SELECT * FROM docs WHERE kind = ? AND id IN (SELECT value FROM json_each(?))'),
    insertDoc: s(
      `INSERT INTO docs (kind, id, data, created_at, updated_at) VALUES (:kind, :id, :data, :now, :now)
       ON CONFLICT DO NOTHING RETURNING *`,
    ),
    updateDoc: s(
      'UPDATE docs SET data = :data, updated_at = :now WHERE kind = :kind AND id = :id RETURNING *',
    ),
    upsertDoc: s(
      `INSERT INTO docs (kind, id, data, created_at, updated_at) VALUES (:kind, :id, :data, :now, :now)
       ON CONFLICT DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at RETURNING *`,
    ),
    deleteDocs: s('DELETE FROM docs WHERE kind = ? AND id IN (SELECT value FROM json_each(?))'),
  }
}

type Statements = ReturnType<typeof prepareStatements>

function toDoc(row: DocRecord): DocRow {
  return {
    kind: row.kind,
    id: row.id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}
