/**
 * Reactions in memory: rows by id, and for live rows sorted lists of order keys by node, user and
 * kind, so every list read is a binary search plus the rows it returns. Every change goes through
 * the undo log, so a batch whose condition fails (R1) is undone whole; counts move with the rows
 * that move them (R2).
 */

import assert from 'node:assert/strict'
import { refuseIfConditionsFailed, writeReactionBatch } from '../shared/reaction-batch.js'
import type {
  ReactionBatch,
  ReactionNode,
  ReactionQuery,
  ReactionRemove,
  ReactionStore,
  ReactionUpdate,
  ReactionWriteResult,
  StoredReaction,
} from '../store.js'
import type { MemoryAudit } from './memory-audit.js'
import { insertKey, lowerBound, removeKey, upperBound } from './sorted.js'
import type { ReactionState } from './state.js'
import type { UndoLog } from './undo-log.js'

/** How the reactions reach the store: its atomic runner and its closed check. */
export interface MemoryRunner {
  atomic<T>(fn: () => T): T
  check(): void
}

const key = (...parts: string[]) => parts.join('\u0000')
const nodeKey = (activityId: string, parent: string) => key(activityId, parent)

/** The lists a live reaction belongs to. */
function listsOf(r: StoredReaction): string[] {
  const { activityId: a, parent: p, userId: u, kind: k } = r
  return [
    key('n', a, p),
    key('nk', a, p, k),
    key('u', u),
    key('uk', u, k),
    key('un', u, a, p),
    key('unk', u, a, p, k),
  ]
}

/** The list answering a query for one kind (or all kinds when `kind` is undefined). */
function listFor(q: ReactionQuery, kind: string | undefined): string {
  const node = q.activityId !== undefined
  const a = q.activityId ?? ''
  const p = q.parent ?? ''
  const u = q.userId
  if (node && u !== undefined) return kind === undefined ? key('un', u, a, p) : key('unk', u, a, p, kind)
  if (node) return kind === undefined ? key('n', a, p) : key('nk', a, p, kind)
  return kind === undefined ? key('u', u ?? '') : key('uk', u ?? '', kind)
}

/** The memory store's {@link ReactionStore}. */
export class MemoryReactions implements ReactionStore {
  readonly #state: ReactionState
  readonly #undo: UndoLog
  readonly #run: MemoryRunner
  readonly #audit: MemoryAudit

  constructor(state: ReactionState, undo: UndoLog, run: MemoryRunner, audit: MemoryAudit) {
    this.#state = state
    this.#undo = undo
    this.#run = run
    this.#audit = audit
  }

  async write(batch: ReactionBatch): Promise<ReactionWriteResult> {
    return writeReactionBatch((start) =>
      this.#run.atomic(() => {
        const result = start()
        for (const r of batch.insert ?? []) this.#insert(r, result)
        for (const u of batch.update ?? []) this.#update(u, result)
        for (const r of batch.remove ?? []) this.#remove(r, result)
        refuseIfConditionsFailed(result)
        this.#audit.add(batch.audit ?? [])
      }),
    )
  }

  async getReactions(ids: string[]): Promise<Map<string, StoredReaction>> {
    this.#run.check()
    const out = new Map<string, StoredReaction>()
    for (const id of ids) {
      const row = this.#state.rows.get(id)
      if (row) out.set(id, { ...row })
    }
    return out
  }

  async listReactions(queries: ReactionQuery[]): Promise<StoredReaction[][]> {
    this.#run.check()
    return queries.map((q) => this.#list(q))
  }

  async countReactions(nodes: ReactionNode[]): Promise<Record<string, number>[]> {
    this.#run.check()
    return nodes.map((n) => {
      const counts = this.#state.counts.get(nodeKey(n.activityId, n.parent))
      // fromEntries defines each kind as an own key (assignment would drop a kind `__proto__`).
      return Object.fromEntries([...(counts ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    })
  }

  #list(q: ReactionQuery): StoredReaction[] {
    if (!q.perKind) {
      const kinds = q.kinds
      if (kinds === undefined || kinds.length === 1) return this.#page(listFor(q, kinds?.[0]), q, q.limit)
      const wanted = new Set(kinds)
      return this.#page(listFor(q, undefined), q, q.limit, (r) => wanted.has(r.kind))
    }
    const kinds = [...new Set(q.kinds ?? this.#kindsOf(q))].sort()
    return kinds.flatMap((kind) => this.#page(listFor(q, kind), q, q.limit))
  }

  /** Kinds with live reactions a query can reach (a node's counted kinds, or a user's). */
  #kindsOf(q: ReactionQuery): string[] {
    if (q.activityId !== undefined) {
      const counts = this.#state.counts.get(nodeKey(q.activityId, q.parent ?? ''))
      return [...(counts ?? [])].filter(([, n]) => n > 0).map(([kind]) => kind)
    }
    const kinds = new Set<string>()
    for (const rk of this.#state.lists.get(listFor(q, undefined)) ?? []) {
      kinds.add(this.#listed(rk).kind)
    }
    return [...kinds]
  }

  /** Up to `limit` rows of one list within the query's bounds, in the query's order. */
  #page(list: string, q: ReactionQuery, limit: number, keep?: (r: StoredReaction) => boolean) {
    const keys = this.#state.lists.get(list) ?? []
    let from = 0
    let to = keys.length
    if (q.gt !== undefined) from = Math.max(from, upperBound(keys, q.gt))
    if (q.gte !== undefined) from = Math.max(from, lowerBound(keys, q.gte))
    if (q.lt !== undefined) to = Math.min(to, lowerBound(keys, q.lt))
    if (q.lte !== undefined) to = Math.min(to, upperBound(keys, q.lte))
    const out: StoredReaction[] = []
    const step = q.ascending ? 1 : -1
    for (let i = q.ascending ? from : to - 1; i >= from && i < to && out.length < limit; i += step) {
      const row = this.#listed(keys[i])
      if (!keep || keep(row)) out.push({ ...row })
    }
    return out
  }

  #insert(r: StoredReaction, result: ReactionWriteResult): void {
    const { rows, children } = this.#state
    if (rows.has(r.id)) {
      result.taken.push(r.id)
      return
    }
    if (r.parent !== '') {
      const parent = rows.get(r.parent)
      if (!parent || parent.deleted) {
        result.orphaned.push(r.id)
        return
      }
      let siblings = children.get(r.parent)
      if (!siblings) {
        siblings = new Set()
        this.#undo.set(children, r.parent, siblings)
      }
      const set = siblings
      set.add(r.id)
      this.#undo.record(() => set.delete(r.id))
    }
    const row = { ...r }
    this.#undo.set(rows, r.id, row)
    if (!row.deleted) this.#show(row)
  }

  #update(u: ReactionUpdate, result: ReactionWriteResult): void {
    const row = this.#state.rows.get(u.id)
    if (!row || row.body !== u.expect) {
      result.stale.push(u.id)
      return
    }
    const next = { ...row, body: u.body ?? row.body, deleted: u.deleted ?? row.deleted }
    this.#undo.set(this.#state.rows, u.id, next)
    if (next.deleted !== row.deleted) {
      if (next.deleted) this.#hide(row)
      else this.#show(next)
    }
  }

  #remove({ id, expect }: ReactionRemove, result: ReactionWriteResult): void {
    const { rows, children, counts } = this.#state
    const root = rows.get(id)
    if (expect !== undefined && root?.body !== expect) {
      result.stale.push(id)
      return
    }
    if (!root) return
    const stack = [root]
    for (let row = stack.pop(); row !== undefined; row = stack.pop()) {
      for (const childId of children.get(row.id) ?? []) {
        const child = rows.get(childId)
        assert(child, `memory store: reaction ${row.id} lists a child ${childId} that has no row`)
        stack.push(child)
      }
      if (!row.deleted) this.#hide(row)
      this.#undo.delete(rows, row.id)
      this.#undo.delete(children, row.id)
      result.removed.push({ ...row })
    }
    // After every row is uncounted: a child's uncounting would bring its parent's counts back.
    for (const row of result.removed) this.#undo.delete(counts, nodeKey(row.activityId, row.id))
    const siblings = children.get(root.parent)
    if (siblings?.delete(id)) this.#undo.record(() => siblings.add(id))
  }

  /** The live row an order key in a list stands for (lists hold only live rows' keys). */
  #listed(rk: string): StoredReaction {
    const id = this.#state.byRk.get(rk)
    const row = id === undefined ? undefined : this.#state.rows.get(id)
    assert(row, `memory store: order key ${rk} is listed but has no live row`)
    return row
  }

  /** Lists a live row and counts it. */
  #show(row: StoredReaction): void {
    const { lists, byRk } = this.#state
    for (const name of listsOf(row)) {
      let keys = lists.get(name)
      if (!keys) {
        keys = []
        this.#undo.set(lists, name, keys)
      }
      insertKey(keys, row.rk, this.#undo)
    }
    this.#undo.set(byRk, row.rk, row.id)
    this.#count(row, 1)
  }

  /** Unlists a row and uncounts it. */
  #hide(row: StoredReaction): void {
    const { lists, byRk } = this.#state
    for (const name of listsOf(row)) {
      const keys = lists.get(name)
      if (!keys) continue
      removeKey(keys, row.rk, this.#undo)
      if (keys.length === 0) this.#undo.delete(lists, name)
    }
    this.#undo.delete(byRk, row.rk)
    this.#count(row, -1)
  }

  #count(row: StoredReaction, delta: number): void {
    const { counts } = this.#state
    const node = nodeKey(row.activityId, row.parent)
    let byKind = counts.get(node)
    if (!byKind) {
      byKind = new Map()
      this.#undo.set(counts, node, byKind)
    }
    this.#undo.set(byKind, row.kind, (byKind.get(row.kind) ?? 0) + delta)
  }
}
