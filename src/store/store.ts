/**
 * The storage seam: a backend is a `StorageAdapter` (adapter.ts) made of parts, one file each
 * (activities, timelines, follows, fan-out jobs, documents, reactions, audit), with one atomic
 * `write` across them (write-batch.ts). The engine owns every rule (ids, validation, aggregation keys, who may
 * write what, fan-out order, response shapes) and hands a store plain data; a store keeps
 * activity bodies once, timelines as compact references, group state for aggregated and
 * notification feeds, follows and fan-out jobs, and offers a few batch-first operations. No
 * store calls back into the engine, and none imports it: data flows engine → store.
 *
 * Feeds are named `slug:userId`. Activities are named by their sort key (`sk`, see
 * `engine/ids.ts`): a 31-character lowercase hex string whose string order is time order, so
 * every timeline sorts by `sk` descending (newest first).
 *
 * ## What every store must guarantee
 *
 * 1. **Atomic writes.** `write` and each `jobs.runFanout` chunk apply entirely or not at all, and
 *    resolve only once durable.
 * 2. **Idempotent entries.** Adding an entry that exists changes nothing (group counters
 *    included) and removing one that is absent changes nothing. A retried chunk, a replayed job
 *    or two workers on one job therefore deliver exactly once.
 * 3. **Reads see committed data** (READ COMMITTED is enough); each call reads one snapshot.
 * 4. **A follow and a concurrent add never miss each other, by commit order.** The engine
 *    commits an activity, its direct entries and its fan-out jobs in one `write` before any
 *    follower of the feed is read (`jobs.runFanout` reads followers); and it commits a follow edge
 *    before it reads the followed feed for the copy. Whichever of the two commits second sees
 *    the other. A store may run a job's first chunk inside the `write` that accepts it only if
 *    its write transactions are serializable (SQLite's single writer); otherwise it commits the
 *    job and leaves every chunk to `jobs.runFanout`.
 *    **An unfollow never leaves entries behind**: a chunk writes entries only to followers whose
 *    edge still exists when it commits, and a copy only while its edge exists; a store without
 *    serializable writes holds the edges it read until the chunk or copy commits (row locks, or
 *    as the PostgreSQL store does, one shared lock per followed feed that an unfollow takes
 *    exclusively), so a concurrent unfollow waits and its removal by origin sees what was written.
 * 5. **Jobs are keyed by (feed, sk) and upserted.** Accepting a job for a key that has one
 *    replaces it (new `id`, cursor reset): the latest intent wins, so a slow add cannot bring
 *    back what a later remove withdrew. The stored row is the truth: `jobs.runFanout` runs from the
 *    stored cursor, does nothing for a job whose row is gone or now has another `id`, and writes
 *    a chunk and advances (or deletes) the row in one transaction.
 * 6. **Leases distribute work, they do not guard it.** `jobs.claimFanout` hands out jobs whose lease
 *    is free or expired and leases them; a dead worker's jobs come back when the lease expires.
 *    Correctness never depends on a lease (rule 5 does that), so an expired lease held by a slow
 *    worker costs at most a repeated chunk, which rule 2 makes harmless.
 *    **A job that keeps failing is set aside, not retried forever**: `jobs.failFanout` counts its
 *    failures and, at the engine's limit, marks it dead; a dead job is never claimed, and stays
 *    (with its reason) until `jobs.retryFanout` puts it back or a new intent for its (feed, sk)
 *    replaces it (rule 5: the new job starts with no failures).
 * 7. **Optimistic read-modify-writes.** A `write` with `expect` checks, inside its own
 *    transaction, that each named activity's stored text is still the expected one; otherwise it
 *    throws {@link WriteConflict} and applies nothing. The engine then reads again and retries.
 *    No lock is held across calls, so this carries to any backend that can compare a row inside
 *    a transaction (SQLite, PostgreSQL) or a script (Redis).
 */

import type { StorageAdapter } from './adapter.js'

export type * from './activity-store.js'
export type * from './adapter.js'
export { DEFAULT_CAPABILITIES, PendingStorage, StorageAdapterBase } from './adapter.js'
export type * from './audit-store.js'
export type * from './document-store.js'
export type * from './fanout-job-store.js'
export type * from './follow-store.js'
export type * from './reaction-store.js'
export type * from './timeline-store.js'
export type * from './write-batch.js'
export { DEFAULT_LEASE_MS, WriteConflict } from './write-batch.js'

/** The name this seam had before it was made of parts: a {@link StorageAdapter}. */
export type Store = StorageAdapter
