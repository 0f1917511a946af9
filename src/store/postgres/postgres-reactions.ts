/**
 * Reactions on PostgreSQL at READ COMMITTED. A batch is one transaction that locks what its
 * conditions read (R1): the parents of new reactions FOR SHARE, updated reactions and removed
 * subtrees FOR UPDATE, so a parent cannot be removed under a child being inserted, and a subtree
 * is locked level by level (each level a fresh statement, so it sees children committed while it
 * waited) before it is deleted (R3). Counts move by upserted deltas in key order (R2).
 * Lists of many nodes are one statement per shape: the queries' nodes unnested, each joined
 * LATERAL to an index range.
 */

import { type ReactionRow, toReaction } from '../reaction-rows.js'
import { refuseIfConditionsFailed, writeReactionBatch } from '../shared/reaction-batch.js'
import type {
  ReactionBatch,
  ReactionNode,
  ReactionQuery,
  ReactionRemove,
  ReactionStore,
  ReactionWriteResult,
  StoredReaction,
} from '../store.js'
import type { PostgresAudit } from './postgres-audit.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, sql } from './session.js'

const BOUNDS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The {@link ReactionStore} of a PostgreSQL store. */
export class PostgresReactions implements ReactionStore {
  readonly #session: Session
  readonly #s: string
  readonly #audit: PostgresAudit
  readonly #st: ReturnType<typeof statements>
  readonly #lists = new Map<string, Sql>()

  constructor(session: Session, schema: string, audit: PostgresAudit) {
    this.#session = session
    this.#s = quoted(schema)
    this.#audit = audit
    this.#st = statements(this.#s)
  }

  async write(batch: ReactionBatch): Promise<ReactionWriteResult> {
    this.#session.check()
    return writeReactionBatch((start) =>
      this.#session.transaction('writeReactions', async (db) => {
        const result = start() // a retried transaction starts over
        const deltas = new Map<string, number>()
        const move = (r: { activityId: string; parent: string; kind: string }, n: number) => {
          const k = JSON.stringify([r.activityId, r.parent, r.kind])
          deltas.set(k, (deltas.get(k) ?? 0) + n)
        }
        await this.#insert(db, batch.insert ?? [], result, move)
        await this.#update(db, batch, result, move)
        const dropped = await this.#remove(db, batch.remove ?? [], result, move)
        refuseIfConditionsFailed(result)
        await this.#applyCounts(db, deltas, dropped)
        await this.#audit.add(db, batch.audit ?? [])
      }),
    )
  }

  async getReactions(ids: string[]): Promise<Map<string, StoredReaction>> {
    this.#session.check()
    if (ids.length === 0) return new Map()
    const rows = await this.#session.once('getReactions', (db) =>
      db.rows<ReactionRow>(this.#st.getMany, [ids]),
    )
    return new Map(rows.map((r) => [r.id, toReaction(r)]))
  }

  async listReactions(queries: ReactionQuery[]): Promise<StoredReaction[][]> {
    this.#session.check()
    const out: StoredReaction[][] = queries.map(() => [])
    // Queries of one shape (all but the node and user) share one statement.
    const groups = new Map<string, number[]>()
    queries.forEach((q, i) => {
      if (q.limit <= 0) return
      const shape = JSON.stringify([
        q.activityId !== undefined,
        q.userId !== undefined,
        q.kinds ?? null,
        Math.floor(q.limit),
        q.perKind === true,
        q.lt,
        q.lte,
        q.gt,
        q.gte,
        q.ascending === true,
      ])
      groups.set(shape, [...(groups.get(shape) ?? []), i])
    })
    if (groups.size === 0) return out
    await this.#session.once('listReactions', async (db) => {
      for (const indexes of groups.values()) {
        const group = indexes.map((i) => queries[i])
        const { statement, values } = this.#listStatement(group)
        const rows = await db.rows<ReactionRow & { i: number }>(statement, values)
        for (const row of rows) out[indexes[row.i - 1]].push(toReaction(row))
      }
    })
    return out
  }

  async countReactions(nodes: ReactionNode[]): Promise<Record<string, number>[]> {
    this.#session.check()
    if (nodes.length === 0) return []
    const rows = await this.#session.once('countReactions', (db) =>
      db.rows<{ i: string; kind: string; n: number }>(this.#st.counts, [
        nodes.map((n) => n.activityId),
        nodes.map((n) => n.parent),
      ]),
    )
    const pairs: [string, number][][] = nodes.map(() => [])
    for (const row of rows) pairs[Number(row.i) - 1].push([row.kind, row.n])
    // fromEntries defines each kind as an own key (assignment would drop a kind `__proto__`).
    return pairs.map((p) => Object.fromEntries(p))
  }

  /** One statement answering a group of same-shaped queries; rows carry their query's ordinal `i`. */
  #listStatement(group: ReactionQuery[]): { statement: Sql; values: unknown[] } {
    const q = group[0]
    const node = q.activityId !== undefined
    const user = q.userId !== undefined
    const values: unknown[] = [
      group.map((g) => g.activityId ?? ''),
      group.map((g) => g.parent ?? ''),
      group.map((g) => g.userId ?? ''),
    ]
    const where = ['NOT r.deleted']
    if (node) where.push('r.activity_id = q.a AND r.parent = q.p')
    if (user) where.push('r.user_id = q.u')
    let kinds = ''
    if (q.perKind) {
      where.push('r.kind = k.kind')
      if (q.kinds !== undefined) {
        values.push(q.kinds)
        kinds = `CROSS JOIN LATERAL (SELECT DISTINCT unnest($${values.length}::text[]) AS kind) AS k`
      } else if (node) {
        kinds = `CROSS JOIN LATERAL (SELECT c.kind FROM ${this.#s}.reaction_counts AS c
          WHERE c.activity_id = q.a AND c.parent = q.p AND c.n > 0) AS k`
      } else {
        kinds = `CROSS JOIN LATERAL (SELECT DISTINCT d.kind FROM ${this.#s}.reactions AS d
          WHERE d.user_id = q.u AND NOT d.deleted) AS k`
      }
    } else if (q.kinds !== undefined) {
      values.push(q.kinds)
      where.push(`r.kind = ANY($${values.length}::text[])`)
    }
    for (const [bound, op] of Object.entries(BOUNDS)) {
      const value = q[bound as keyof typeof BOUNDS]
      if (value === undefined) continue
      values.push(value)
      where.push(`r.rk ${op} $${values.length}`)
    }
    const order = q.ascending ? 'ASC' : 'DESC'
    const text = `SELECT q.i::int AS i, r.* FROM
      unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(a, p, u, i) ${kinds}
      CROSS JOIN LATERAL (SELECT * FROM ${this.#s}.reactions AS r WHERE ${where.join(' AND ')}
        ORDER BY r.rk ${order} LIMIT ${Math.floor(q.limit)}) AS r
      ORDER BY q.i${q.perKind ? ', r.kind' : ''}, r.rk ${order}`
    let statement = this.#lists.get(text)
    if (!statement) {
      statement = sql(text)
      if (this.#lists.size >= 200) this.#lists.clear()
      this.#lists.set(text, statement)
    }
    return { statement, values }
  }

  async #insert(
    db: Runner,
    inserts: StoredReaction[],
    result: ReactionWriteResult,
    move: (r: StoredReaction, n: number) => void,
  ): Promise<void> {
    if (inserts.length === 0) return
    const mine = new Set(inserts.map((r) => r.id))
    const parents = [...new Set(inserts.map((r) => r.parent).filter((p) => p !== '' && !mine.has(p)))]
    // FOR SHARE: a removal of a parent waits for this insert, then takes the child with it.
    const live = new Set(
      (await db.rows<{ id: string; deleted: boolean }>(this.#st.lockShare, [parents.sort(byKey)]))
        .filter((r) => !r.deleted)
        .map((r) => r.id),
    )
    const ok: StoredReaction[] = []
    for (const r of inserts) {
      if (r.parent !== '' && !live.has(r.parent)) result.orphaned.push(r.id)
      else {
        ok.push(r)
        if (!r.deleted) live.add(r.id)
      }
    }
    if (ok.length === 0) return
    const column = (f: (r: StoredReaction) => unknown) => ok.map(f)
    const inserted = await db.rows<{ id: string }>(this.#st.insert, [
      column((r) => r.id),
      column((r) => r.rk),
      column((r) => r.activityId),
      column((r) => r.parent),
      column((r) => r.userId),
      column((r) => r.kind),
      column((r) => r.body),
      column((r) => r.deleted),
    ])
    const made = new Set(inserted.map((r) => r.id))
    for (const r of ok) {
      // `delete`: the first of one id in the batch made the row; a repeat of it is taken.
      if (!made.delete(r.id)) result.taken.push(r.id)
      else if (!r.deleted) move(r, 1)
    }
  }

  async #update(
    db: Runner,
    batch: ReactionBatch,
    result: ReactionWriteResult,
    move: (r: StoredReaction, n: number) => void,
  ): Promise<void> {
    const updates = batch.update ?? []
    if (updates.length === 0) return
    const ids = [...new Set(updates.map((u) => u.id))].sort(byKey)
    const rows = await db.rows<ReactionRow>(this.#st.lockUpdate, [ids])
    const current = new Map(rows.map((r) => [r.id, toReaction(r)]))
    for (const u of updates) {
      const row = current.get(u.id)
      if (!row || row.body !== u.expect) {
        result.stale.push(u.id)
        continue
      }
      const next = { ...row, body: u.body ?? row.body, deleted: u.deleted ?? row.deleted }
      await db.run(this.#st.update, [u.id, next.body, next.deleted])
      if (next.deleted !== row.deleted) move(row, next.deleted ? -1 : 1)
      current.set(u.id, next)
    }
  }

  /** Locks and deletes subtrees; returns the nodes (activity, reaction id) whose counts go with them. */
  async #remove(
    db: Runner,
    roots: ReactionRemove[],
    result: ReactionWriteResult,
    move: (r: StoredReaction, n: number) => void,
  ): Promise<ReactionNode[]> {
    if (roots.length === 0) return []
    const all: ReactionRow[] = []
    let level = await db.rows<ReactionRow>(this.#st.lockUpdate, [
      [...new Set(roots.map((r) => r.id))].sort(byKey),
    ])
    // Checked with the roots locked: a concurrent removal or update shows here, not after.
    const locked = new Map(level.map((r) => [r.id, r.body]))
    for (const r of roots)
      if (r.expect !== undefined && locked.get(r.id) !== r.expect) result.stale.push(r.id)
    while (level.length > 0) {
      all.push(...level)
      level = await db.rows<ReactionRow>(this.#st.lockChildren, [
        level.map((r) => r.activity_id),
        level.map((r) => r.id),
      ])
    }
    if (all.length === 0) return []
    await db.run(this.#st.remove, [all.map((r) => r.id)])
    for (const row of all) {
      const reaction = toReaction(row)
      if (!reaction.deleted) move(reaction, -1)
      result.removed.push(reaction)
    }
    return all.map((r) => ({ activityId: r.activity_id, parent: r.id }))
  }

  async #applyCounts(db: Runner, deltas: Map<string, number>, dropped: ReactionNode[]): Promise<void> {
    // Key order, so concurrent batches lock count rows in one order and cannot deadlock on them.
    const moves = [...deltas]
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => [...(JSON.parse(k) as [string, string, string]), n] as const)
      .sort((a, b) => byKey(a[0], b[0]) || byKey(a[1], b[1]) || byKey(a[2], b[2]))
    if (moves.length > 0) {
      await db.run(this.#st.count, [
        moves.map((m) => m[0]),
        moves.map((m) => m[1]),
        moves.map((m) => m[2]),
        moves.map((m) => m[3]),
      ])
    }
    if (dropped.length > 0) {
      await db.run(this.#st.dropCounts, [dropped.map((d) => d.activityId), dropped.map((d) => d.parent)])
    }
  }
}

function statements(s: string) {
  return {
    getMany: sql(`SELECT * FROM ${s}.reactions WHERE id = ANY($1::text[])`),
    lockShare: sql(`SELECT id, deleted FROM ${s}.reactions WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`),
    lockUpdate: sql(`SELECT * FROM ${s}.reactions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`),
    lockChildren: sql(`SELECT r.* FROM ${s}.reactions AS r
      JOIN unnest($1::text[], $2::text[]) AS n(a, p) ON r.activity_id = n.a AND r.parent = n.p
      ORDER BY r.id FOR UPDATE OF r`),
    insert: sql(`INSERT INTO ${s}.reactions (id, rk, activity_id, parent, user_id, kind, body, deleted)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::boolean[])
      ON CONFLICT (id) DO NOTHING RETURNING id`),
    update: sql(`UPDATE ${s}.reactions SET body = $2, deleted = $3 WHERE id = $1`),
    remove: sql(`DELETE FROM ${s}.reactions WHERE id = ANY($1::text[])`),
    count: sql(`INSERT INTO ${s}.reaction_counts AS c (activity_id, parent, kind, n)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
      ON CONFLICT (activity_id, parent, kind) DO UPDATE SET n = c.n + excluded.n`),
    dropCounts: sql(`DELETE FROM ${s}.reaction_counts AS c USING unnest($1::text[], $2::text[]) AS n(a, p)
      WHERE c.activity_id = n.a AND c.parent = n.p`),
    counts: sql(`SELECT q.i, c.kind, c.n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, p, i)
      JOIN ${s}.reaction_counts AS c ON c.activity_id = q.a AND c.parent = q.p ORDER BY q.i, c.kind`),
  }
}
