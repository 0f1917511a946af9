/**
 * The storage adapter: one backend as a set of parts (activities, timelines, follows, fan-out
 * jobs, documents, reactions, audit), one atomic `write` across them, capabilities the engine
 * schedules by, and `open()`/`close()`. Backends extend {@link StorageAdapterBase}, which fills
 * in the capabilities a backend does not state (kysely's `DialectAdapterBase` is the model), so a
 * capability added later needs no change in existing backends. The rules every backend keeps
 * are in `store.ts`.
 */
import type { ActivityStore } from './activity-store.js'
import type { AuditStore } from './audit-store.js'
import type { DocumentStore } from './document-store.js'
import type { FanoutJobStore } from './fanout-job-store.js'
import type { FollowStore } from './follow-store.js'
import type { ReactionStore } from './reaction-store.js'
import type { TimelineStore } from './timeline-store.js'
import type { FanoutJob, WriteBatch } from './write-batch.js'

/** How a backend behaves under load, so the engine can schedule fan-out around it. */
export interface Capabilities {
  /**
   * Whether a call holds the JavaScript thread while it works (better-sqlite3 and the memory
   * store do; a network store does not). The engine then keeps each fan-out chunk short.
   */
  blocksEventLoop: boolean
  /** Follower feeds per fan-out transaction that suit this backend (the engine's upper bound). */
  fanoutChunkSize: number
  /**
   * Whether `dataVersion` moves with every committed write to any part (documents, follows,
   * reactions too), not only with what V1's plain pages show: SQLite's does (one file, one
   * version); PostgreSQL + Redis's moves with timeline writes only. Caches of answers built
   * from every part (the V3 feed page) need it. Optional (absent: false), so adapters written
   * before it still type-check.
   */
  versionsEveryWrite?: boolean
}

/** What a backend that states nothing is assumed to do: block the event loop, chunks of 500. */
export const DEFAULT_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  blocksEventLoop: true,
  fanoutChunkSize: 500,
  versionsEveryWrite: false,
})

/** One storage backend: its parts, one atomic write across them, and its life cycle. */
export interface StorageAdapter {
  /** A short name for messages: `memory`, `sqlite:/path`, `postgres://host/db`. */
  readonly name: string
  /** How the backend behaves under load. */
  readonly capabilities: Capabilities
  /** Activity bodies. */
  readonly activities: ActivityStore
  /** Timeline entries and groups. */
  readonly timelines: TimelineStore
  /** Follow edges. */
  readonly follows: FollowStore
  /** Accepted fan-out jobs. */
  readonly jobs: FanoutJobStore
  /** Users and collection entries. */
  readonly documents: DocumentStore
  /** Reactions and their counts. */
  readonly reactions: ReactionStore
  /** The audit log. */
  readonly audit: AuditStore

  /**
   * Makes the backend ready for calls (connect, migrate); resolves at once for one that opened
   * when it was made. Calls made before it resolves may fail.
   */
  open(): Promise<void>

  /**
   * Applies `batch` atomically and resolves once durable, with the accepted fan-out jobs still
   * to run (leased to the caller), for `jobs.runFanout`: every accepted job, or those with
   * followers left, for a backend that ran first chunks inside the write (rule 4) or ended the
   * jobs of feeds without followers right after its commit (PostgreSQL).
   */
  write(batch: WriteBatch): Promise<FanoutJob[]>

  /**
   * Optional: a value that differs from every earlier one once committed data may have changed,
   * by this process or any other, so a reader may reuse what it built from reads it made *after*
   * taking an equal value (the server's page cache). Extra changes are harmless (a reuse lost);
   * a missed change is not. SQLite: `PRAGMA data_version` (other connections' commits) with the
   * connection's own change count. A PostgreSQL or Redis backend could keep a counter that every
   * write transaction or script bumps; a backend without this method simply gets no caching.
   */
  dataVersion?(): Promise<string>

  /**
   * Optional: `dataVersion` per feed, in the order of `feeds`: each value differs from every
   * earlier one of its feed once committed data a page of that feed shows may have changed, so a
   * write to one feed leaves cached pages of the others usable. PostgreSQL + Redis: a counter per
   * feed and the entry set's size (redis/data-version.ts). Without it, `dataVersion` serves.
   */
  feedVersions?(feeds: string[]): Promise<string[]>

  /** Releases files and connections; any later call fails with a clear error. */
  close(): Promise<void>
}

/**
 * The base every built-in backend extends: capabilities merged over {@link DEFAULT_CAPABILITIES},
 * and an `open()` that has nothing to do (backends that connect asynchronously override it).
 */
export abstract class StorageAdapterBase implements StorageAdapter {
  abstract readonly name: string
  readonly capabilities: Capabilities
  abstract readonly activities: ActivityStore
  abstract readonly timelines: TimelineStore
  abstract readonly follows: FollowStore
  abstract readonly jobs: FanoutJobStore
  abstract readonly documents: DocumentStore
  abstract readonly reactions: ReactionStore
  abstract readonly audit: AuditStore

  /** `capabilities`: what this backend states; the rest comes from the defaults. */
  constructor(capabilities: Partial<Capabilities> = {}) {
    this.capabilities = { ...DEFAULT_CAPABILITIES, ...capabilities }
  }

  async open(): Promise<void> {}

  abstract write(batch: WriteBatch): Promise<FanoutJob[]>

  abstract close(): Promise<void>
}

/**
 * A backend that loads and opens in the background (PostgreSQL and Redis load their drivers,
 * connect and migrate): what it is called and can do is known at once, the adapter later.
 * The engine's runtime storage waits for it on every call, so `connect()` stays synchronous.
 */
export class PendingStorage {
  /** Shown until the backend is open (never a password). */
  readonly name: string
  /** The capabilities the backend will have. */
  readonly capabilities: Capabilities
  /** Loads, connects and migrates; resolves with the adapter, open. */
  readonly load: () => Promise<StorageAdapter>

  constructor(name: string, capabilities: Partial<Capabilities>, load: () => Promise<StorageAdapter>) {
    this.name = name
    this.capabilities = { ...DEFAULT_CAPABILITIES, ...capabilities }
    this.load = load
  }
}
