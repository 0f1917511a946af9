/**
 * The engine's handle on its storage, one explicit class in place of three wrappers: it waits
 * for a backend that opens in the background (PostgreSQL, Redis), turns every `StoreError` into
 * the `EddyError` callers handle (store-errors.ts), and reports each committed feed change to
 * the realtime observer (feed-observer.ts). Stores stay unaware of the engine.
 *
 * Each call looks the part up on the adapter when it is made (never a copy taken here), so an
 * adapter whose methods are replaced later (fault injection in tests, instrumentation) is obeyed.
 */
import { closedError } from '../store/errors.js'
import {
  type ActivityStore,
  type AuditStore,
  type Capabilities,
  DEFAULT_CAPABILITIES,
  type DocumentStore,
  type FanoutJob,
  type FanoutJobStore,
  type FollowStore,
  PendingStorage,
  type ReactionStore,
  type StorageAdapter,
  type TimelineStore,
  type WriteBatch,
} from '../store/store.js'
import { EddyError } from './errors.js'
import type { FeedEvents } from './events.js'
import type { FeedGroup } from './feed-groups.js'
import { FeedObserver } from './feed-observer.js'
import { fromStoreError } from './store-errors.js'

/** The parts of a {@link StorageAdapter}, by name. */
type Parts = Pick<
  StorageAdapter,
  'activities' | 'timelines' | 'follows' | 'jobs' | 'documents' | 'reactions' | 'audit'
>

/** Where the runtime storage reports committed feed changes (the engine's realtime events). */
export interface RuntimeObserving {
  events: FeedEvents
  groups: Map<string, FeedGroup>
}

/** A storage adapter as the engine uses it: opened on demand, errors translated, changes observed. */
export class RuntimeStorage implements StorageAdapter {
  readonly name: string
  readonly capabilities: Capabilities
  readonly activities: ActivityStore
  readonly timelines: TimelineStore
  readonly follows: FollowStore
  readonly jobs: FanoutJobStore
  readonly documents: DocumentStore
  readonly reactions: ReactionStore
  readonly audit: AuditStore
  readonly #source: StorageAdapter | PendingStorage
  #opening: Promise<StorageAdapter> | undefined
  readonly #observer: FeedObserver | undefined
  #adapter: StorageAdapter | undefined
  #closed = false

  /**
   * Opens `source` on the first call or `open()` (a {@link PendingStorage} loads first, so an
   * engine refused for a bad option leaves nothing connecting); with `observing`, every committed
   * feed change is reported to its events.
   */
  constructor(source: StorageAdapter | PendingStorage, observing?: RuntimeObserving) {
    this.name = source.name
    this.capabilities = { ...DEFAULT_CAPABILITIES, ...source.capabilities }
    this.#source = source
    this.#observer = observing && new FeedObserver(this, observing.events, observing.groups)
    const call = this.#call.bind(this)
    this.activities = {
      getActivities: (sks) => call('activities', (p) => p.getActivities(sks)),
      findByForeignId: (feed, foreignId) => call('activities', (p) => p.findByForeignId(feed, foreignId)),
    }
    this.timelines = {
      getEntries: (feed, sks) => call('timelines', (p) => p.getEntries(feed, sks)),
      readFlat: (feed, page) => call('timelines', (p) => p.readFlat(feed, page)),
      newestEntries: (feed, limit) => call('timelines', (p) => p.newestEntries(feed, limit)),
      readGroups: async (feed, page, perGroup, options) => {
        const read = await call('timelines', (p) => p.readGroups(feed, page, perGroup, options))
        // Marks are a change listeners hear about; plain reads are not.
        if (options && (options.seen || options.read) && this.#observer?.events.wants(feed))
          this.#observer.afterMarks(feed, options)
        return read
      },
      readPastCap: (feed, below, limit, floor) =>
        call('timelines', (p) => {
          if (!p.readPastCap) throw notImplemented(this.name, 'timelines.readPastCap')
          return p.readPastCap(feed, below, limit, floor)
        }),
    }
    this.follows = {
      followers: (feed, query) => call('follows', (p) => p.followers(feed, query)),
      following: (feed, query) => call('follows', (p) => p.following(feed, query)),
      countFollows: (feed, query) => call('follows', (p) => p.countFollows(feed, query)),
    }
    this.jobs = {
      runFanout: (job, chunkSize) => this.#runFanout(job, chunkSize),
      claimFanout: (options) => call('jobs', (p) => p.claimFanout(options)),
      failFanout: (job, failure) => call('jobs', (p) => p.failFanout(job, failure)),
      deadFanout: (limit) => call('jobs', (p) => p.deadFanout(limit)),
      retryFanout: (ids) => call('jobs', (p) => p.retryFanout(ids)),
    }
    this.documents = {
      getDocs: (kind, ids) => call('documents', (p) => p.getDocs(kind, ids)),
      putDoc: (kind, id, data, mode, ifUpdatedAt) =>
        call('documents', (p) => p.putDoc(kind, id, data, mode, ifUpdatedAt)),
      deleteDocs: (kind, ids) => call('documents', (p) => p.deleteDocs(kind, ids)),
      listDocs: (kind, after, limit) => call('documents', (p) => p.listDocs(kind, after, limit)),
    }
    this.reactions = {
      write: (batch) => call('reactions', (p) => p.write(batch)),
      getReactions: (ids) => call('reactions', (p) => p.getReactions(ids)),
      listReactions: (queries) => call('reactions', (p) => p.listReactions(queries)),
      countReactions: (nodes) => call('reactions', (p) => p.countReactions(nodes)),
    }
    this.audit = {
      append: (entries) => call('audit', (p) => p.append(entries)),
      list: (query) => call('audit', (p) => p.list(query)),
    }
  }

  /** The adapter's data version, when it keeps one (and is open); see `StorageAdapter.dataVersion`. */
  get dataVersion(): (() => Promise<string>) | undefined {
    const version = this.#adapter?.dataVersion?.bind(this.#adapter)
    if (!version) return undefined
    return () => this.#guard(version)
  }

  /** The adapter's versions per feed, when it keeps them (and is open); see `StorageAdapter.feedVersions`. */
  get feedVersions(): ((feeds: string[]) => Promise<string[]>) | undefined {
    const versions = this.#adapter?.feedVersions?.bind(this.#adapter)
    if (!versions) return undefined
    return (feeds) => this.#guard(() => versions(feeds))
  }

  /** Resolves once the backend is open; rejects with the EddyError that says why it could not be. */
  async open(): Promise<void> {
    await this.#guard(() => this.#ready())
  }

  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    const pending = await this.#guard(async () => (this.#adapter ?? (await this.#ready())).write(batch))
    if (this.#observer?.events.active) this.#observer.afterWrite(batch, pending)
    return pending
  }

  /** Closes the backend (once it has opened); later calls fail with a clear error. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // An adapter made open is closed even if never used; a pending one only once it loaded.
    const source = this.#source
    const opening = this.#opening ?? (source instanceof PendingStorage ? undefined : Promise.resolve(source))
    const adapter = await opening?.catch(() => undefined)
    await this.#guard(async () => adapter?.close())
  }

  async #start(): Promise<StorageAdapter> {
    const source = this.#source
    const adapter = source instanceof PendingStorage ? await source.load() : source
    await adapter.open()
    this.#adapter = adapter
    return adapter
  }

  async #ready(): Promise<StorageAdapter> {
    if (this.#closed) throw closedError(this.name)
    if (this.#adapter) return this.#adapter
    this.#opening ??= this.#start()
    return this.#opening
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw fromStoreError(error)
    }
  }

  /** Calls `use` with the adapter's part `name`, once open; StoreErrors leave as EddyErrors. */
  async #call<K extends keyof Parts, T>(name: K, use: (part: Parts[K]) => Promise<T>): Promise<T> {
    try {
      const adapter = this.#closed || !this.#adapter ? await this.#ready() : this.#adapter
      const part = adapter[name] as Parts[K] | undefined
      // A backend written against an older seam may lack a part: its first use says so.
      if (typeof part !== 'object' || part === null) throw notImplemented(this.name, name)
      return await use(part)
    } catch (error) {
      throw fromStoreError(error)
    }
  }

  async #runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    const observer = this.#observer
    if (!observer?.events.active) return this.#call('jobs', (p) => p.runFanout(job, chunkSize))
    // Backends that know which followers a chunk changed say so (any walk order, a priority pass
    // included); for the others the cursors before and after the chunk tell. A set: a
    // transaction the backend retries (deadlock) may report a feed twice.
    let delivered: Set<string> | undefined
    const collect = (feeds: string[]) => {
      delivered ??= new Set()
      for (const feed of feeds) if (observer.events.wants(feed)) delivered.add(feed)
    }
    const next = await this.#call('jobs', (p) => p.runFanout(job, chunkSize, collect))
    if (delivered) void observer.afterDelivery(job, [...delivered])
    else void observer.afterChunk(job, job.cursor, next?.cursor ?? null, next === null)
    return next
  }
}

/** The error for a part or method a backend lacks: a 501 naming the backend and what it lacks. */
function notImplemented(store: string, part: string): EddyError {
  return new EddyError(
    'NotImplementedException',
    `the store ${JSON.stringify(store)} has no ${part} (see store/adapter.ts); implement it or use a built-in store`,
  )
}
