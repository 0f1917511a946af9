/**
 * The reactions part (`storage.reactions`), with the audit log beside it (`audit-store.ts`). As for feeds, the engine owns every rule (ids, kinds,
 * nesting depth, who may change what, response shapes) and hands a store plain rows; a store keeps
 * them, lists them in creation order and keeps exact counts.
 *
 * Reactions hang from a **node**: an activity's top level (`parent` ''), or a reaction (`parent`
 * its id, `activityId` its activity's). Each reaction carries an order key `rk`, a string whose
 * order is creation order (the engine derives it from the creation time), so lists are `rk`
 * descending (newest first) or ascending.
 *
 * ## What every store must guarantee
 *
 * R1. **Atomic, conditional batches.** `write` applies a whole {@link ReactionBatch} in one
 *     transaction or nothing of it: when an insert finds its id taken or its parent missing or
 *     soft-deleted, or an update finds the stored body changed (or the reaction gone), nothing is
 *     written and the result names them (`applied: false`). The conditions are checked inside the
 *     transaction, so no reaction path is a read-modify-write across calls.
 * R2. **Exact counts, moved only by real changes.** `countReactions` gives, per node, the live
 *     (not soft-deleted) reactions by kind. A count moves in the same transaction as the row that
 *     moves it, and only when that row really changes: inserting, removing, soft-deleting or
 *     restoring. A kind once counted stays, at 0, after its last reaction goes.
 * R3. **Removal takes the subtree.** Removing a reaction removes every reaction under it, soft
 *     deleted ones included, and a child inserted concurrently under a reaction being removed is
 *     either removed with it or refused (`orphaned`), never left behind.
 * R4. **Soft-deleted reactions are kept but hidden**: `getReactions` returns them (flagged), lists
 *     and counts never do.
 * R5. **Audit entries are append-only** and listed newest first by the order the store gave them
 *     (`seq`); entries written with a batch (`ReactionBatch.audit`, `WriteBatch.audit`) commit with it.
 */

import type { AuditEntry } from './audit-store.js'

/** A reaction as stored: the engine's JSON text plus the fields a store indexes and counts by. */
export interface StoredReaction {
  /** Primary key. */
  id: string
  /** Order key: string order is creation order. */
  rk: string
  /** The activity this reaction's tree hangs from. */
  activityId: string
  /** The reaction this one answers, or '' for a reaction to the activity itself. */
  parent: string
  /** Who reacted. */
  userId: string
  kind: string
  /** The reaction as JSON text, exactly as the engine wrote it. */
  body: string
  /** Soft-deleted: kept, but neither listed nor counted (R4). */
  deleted: boolean
}

/** A node reactions hang from: an activity's top level (`parent` '') or a reaction. */
export interface ReactionNode {
  activityId: string
  parent: string
}

/**
 * Which live reactions to list: those under a node, those by a user, or those by a user under a
 * node (give a node, a user, or both).
 */
export interface ReactionQuery {
  /** With `parent`: only reactions under this node. */
  activityId?: string
  /** The node's parent ('' for the activity's top level); required with `activityId`. */
  parent?: string
  /** Only reactions by this user. */
  userId?: string
  /** Only these kinds (missing: every kind). */
  kinds?: string[]
  /** Most reactions returned; with `perKind`, most of each kind. */
  limit: number
  /** The newest `limit` of each kind (grouped by kind, kinds in name order) instead of in all. */
  perKind?: boolean
  /** Order-key bounds (`rk`), as cursors. */
  lt?: string
  lte?: string
  gt?: string
  gte?: string
  /** Oldest first instead of newest first. */
  ascending?: boolean
}

/** A change to a stored reaction, applied only if its stored body is still `expect` (R1). */
export interface ReactionUpdate {
  id: string
  /** The body as read; the update applies only while it is still stored. */
  expect: string
  /** The new body (missing: unchanged). */
  body?: string
  /** Soft-delete (true) or restore (false); missing: unchanged. */
  deleted?: boolean
}

/** A reaction to remove with its subtree; with `expect`, only while its stored body is that text. */
export interface ReactionRemove {
  id: string
  /** The body as read: the removal applies only while it is still stored (else `stale`, R1). */
  expect?: string
}

/** Everything one atomic reaction write may do, applied in this order. */
export interface ReactionBatch {
  /** New reactions, each only if its id is free and its parent ('' or a live reaction) exists. */
  insert?: StoredReaction[]
  /** Conditional changes of body and soft-deleted state. */
  update?: ReactionUpdate[]
  /**
   * Reactions to remove with their whole subtree (R3). Without `expect`, absent ids are skipped
   * (a retried removal changes nothing); with it, an absent or changed reaction is `stale`.
   */
  remove?: ReactionRemove[]
  /** Audit entries committed with the batch. */
  audit?: AuditEntry[]
}

/** What a reaction write did. */
export interface ReactionWriteResult {
  /** False when a condition failed (see the lists); then nothing was written. */
  applied: boolean
  /** Inserts whose id was taken. */
  taken: string[]
  /** Inserts whose parent is missing or soft-deleted. */
  orphaned: string[]
  /** Updates and expecting removals whose reaction is gone or whose stored body was not `expect`. */
  stale: string[]
  /** Every reaction `remove` deleted, descendants included, as stored before. */
  removed: StoredReaction[]
}

/** Reactions of one backend (see the module comment for the rules). */
export interface ReactionStore {
  /** Applies `batch` atomically when every condition holds (R1). */
  write(batch: ReactionBatch): Promise<ReactionWriteResult>

  /** Reactions by id, soft-deleted ones included (R4); missing ones are absent from the map. */
  getReactions(ids: string[]): Promise<Map<string, StoredReaction>>

  /** One list per query, in query order (batch-first: one call for a page of activities). */
  listReactions(queries: ReactionQuery[]): Promise<StoredReaction[][]>

  /** Live reaction counts by kind, one record per node, in node order (R2). */
  countReactions(nodes: ReactionNode[]): Promise<Record<string, number>[]>
}
