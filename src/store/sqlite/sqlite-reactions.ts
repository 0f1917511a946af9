/**
 * Reactions in the SQLite store's `reactions` and `reaction_counts` tables. A batch is one
 * BEGIN IMMEDIATE transaction: writers are serial, so its conditions (R1), its count moves (R2)
 * and its subtree removals (R3) see no concurrent change; a failed condition rolls it back.
 */

import { type ReactionRow, toReaction } from '../reaction-rows.js'
import { refuseIfConditionsFailed, writeReactionBatch } from '../shared/reaction-batch.js'
import type {
  ReactionBatch,
  ReactionNode,
  ReactionQuery,
  ReactionStore,
  ReactionWriteResult,
  StoredReaction,
} from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'
import type { SqliteAudit } from './sqlite-audit.js'
import { cached } from './statements.js'

const BOUNDS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const

/** The {@link ReactionStore} of a SQLite store; `check` throws once the store is closed. */
export class SqliteReactions implements ReactionStore {
  readonly #db: Database
  readonly #check: () => void
  readonly #st: ReturnType<typeof statements>
  readonly #lists = new Map<string, Statement>()
  readonly #write: Transaction<(batch: ReactionBatch, result: ReactionWriteResult) => void>

  constructor(db: Database, check: () => void, audit: SqliteAudit) {
    this.#db = db
    this.#check = check
    const st = statements(db)
    this.#st = st
    const get = (id: string) => st.get.get(id) as ReactionRow | undefined
    const count = (activityId: string, parent: string, kind: string, n: number) =>
      st.count.run(activityId, parent, kind, n)
    this.#write = db.transaction((batch: ReactionBatch, result: ReactionWriteResult) => {
      for (const r of batch.insert ?? []) {
        const parent = r.parent === '' ? undefined : get(r.parent)
        if (get(r.id)) result.taken.push(r.id)
        else if (r.parent !== '' && (!parent || parent.deleted)) result.orphaned.push(r.id)
        else {
          st.insert.run(r.id, r.rk, r.activityId, r.parent, r.userId, r.kind, r.body, r.deleted ? 1 : 0)
          if (!r.deleted) count(r.activityId, r.parent, r.kind, 1)
        }
      }
      for (const u of batch.update ?? []) {
        const row = get(u.id)
        if (!row || row.body !== u.expect) {
          result.stale.push(u.id)
          continue
        }
        const deleted = u.deleted ?? Boolean(row.deleted)
        st.update.run(u.body ?? row.body, deleted ? 1 : 0, u.id)
        if (deleted !== Boolean(row.deleted)) count(row.activity_id, row.parent, row.kind, deleted ? -1 : 1)
      }
      for (const { id, expect } of batch.remove ?? []) {
        const root = get(id)
        if (expect !== undefined && root?.body !== expect) {
          result.stale.push(id)
          continue
        }
        if (!root) continue
        const queue = [root]
        for (let row = queue.shift(); row; row = queue.shift()) {
          queue.push(...(st.children.all(row.activity_id, row.id) as ReactionRow[]))
          if (!row.deleted) count(row.activity_id, row.parent, row.kind, -1)
          st.remove.run(row.id)
          result.removed.push(toReaction(row))
        }
      }
      // After every row is uncounted: a child's uncounting would bring its parent's counts back.
      for (const row of result.removed) st.dropCounts.run(row.activityId, row.id)
      refuseIfConditionsFailed(result)
      audit.add(batch.audit ?? [])
    })
  }

  async write(batch: ReactionBatch): Promise<ReactionWriteResult> {
    this.#check()
    return writeReactionBatch((start) => this.#write.immediate(batch, start()))
  }

  async getReactions(ids: string[]): Promise<Map<string, StoredReaction>> {
    this.#check()
    const rows = this.#st.getMany.all(JSON.stringify(ids)) as ReactionRow[]
    return new Map(rows.map((r) => [r.id, toReaction(r)]))
  }

  async listReactions(queries: ReactionQuery[]): Promise<StoredReaction[][]> {
    this.#check()
    return queries.map((q) => {
      if (!q.perKind) return this.#page(q, q.kinds)
      return [...new Set(q.kinds ?? this.#kindsOf(q))].sort().flatMap((kind) => this.#page(q, [kind]))
    })
  }

  async countReactions(nodes: ReactionNode[]): Promise<Record<string, number>[]> {
    this.#check()
    // One statement for the whole page (a feed page asks for 25 nodes at once).
    const entries = nodes.map((): [string, number][] => [])
    if (nodes.length > 0) {
      const keys = JSON.stringify(nodes.map((n) => [n.activityId, n.parent]))
      for (const r of this.#st.counts.all(keys) as { i: number; kind: string; n: number }[])
        entries[r.i].push([r.kind, r.n])
    }
    return entries.map((e) => Object.fromEntries(e))
  }

  /** Kinds with live reactions a query can reach. */
  #kindsOf(q: ReactionQuery): string[] {
    const rows =
      q.activityId === undefined
        ? (this.#st.userKinds.all(q.userId) as { kind: string }[])
        : (this.#st.nodeKinds.all(q.activityId, q.parent ?? '') as { kind: string }[])
    return rows.map((r) => r.kind)
  }

  /** One page of live reactions: node and/or user, kinds, bounds, order; one cached statement per shape. */
  #page(q: ReactionQuery, kinds: string[] | undefined): StoredReaction[] {
    if (q.limit <= 0) return []
    const where = ['deleted = 0']
    const args: Record<string, unknown> = {}
    if (q.activityId !== undefined) {
      where.push('activity_id = @activityId AND parent = @parent')
      Object.assign(args, { activityId: q.activityId, parent: q.parent ?? '' })
    }
    if (q.userId !== undefined) {
      where.push('user_id = @userId')
      args.userId = q.userId
    }
    if (kinds?.length === 1) {
      where.push('kind = @kind')
      args.kind = kinds[0]
    } else if (kinds !== undefined) {
      where.push('kind IN (SELECT value FROM json_each(@kinds))')
      args.kinds = JSON.stringify(kinds)
    }
    for (const [bound, op] of Object.entries(BOUNDS)) {
      const value = q[bound as keyof typeof BOUNDS]
      if (value === undefined) continue
      where.push(`rk ${op} @${bound}`)
      args[bound] = value
    }
    const limit = Math.floor(q.limit)
    const sql = `SELECT * FROM reactions WHERE ${where.join(' AND ')}
      ORDER BY rk ${q.ascending ? 'ASC' : 'DESC'} LIMIT ${limit}`
    const statement = cached(this.#lists, sql, () => this.#db.prepare(sql))
    return (statement.all(args) as ReactionRow[]).map(toReaction)
  }
}

function statements(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql)
  return {
    get: s('SELECT * FROM reactions WHERE id = ?'),
    getMany: s('SELECT * FROM reactions WHERE id IN (SELECT value FROM json_each(?))'),
    insert: s(
      `INSERT INTO reactions (id, rk, activity_id, parent, user_id, kind, body, deleted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: s('UPDATE reactions SET body = ?, deleted = ? WHERE id = ?'),
    remove: s('DELETE FROM reactions WHERE id = ?'),
    children: s('SELECT * FROM reactions WHERE activity_id = ? AND parent = ?'),
    count: s(
      `INSERT INTO reaction_counts (activity_id, parent, kind, n) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    ),
    dropCounts: s('DELETE FROM reaction_counts WHERE activity_id = ? AND parent = ?'),
    counts: s(
      `SELECT j.key AS i, c.kind, c.n FROM json_each(?) j JOIN reaction_counts c
       ON c.activity_id = j.value ->> 0 AND c.parent = j.value ->> 1 ORDER BY j.key, c.kind`,
    ),
    nodeKinds: s('SELECT kind FROM reaction_counts WHERE activity_id = ? AND parent = ? AND n > 0'),
    userKinds: s('SELECT DISTINCT kind FROM reactions WHERE user_id = ? AND deleted = 0'),
  }
}
