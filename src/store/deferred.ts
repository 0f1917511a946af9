/**
 * A store that is opened asynchronously (PostgreSQL connects and migrates) behind the synchronous
 * `connect()`: every call waits for the open, and `ready()` lets an app or `eddy serve` fail fast
 * at start with the open's error.
 */
import { closedError } from './errors.js'
import type {
  AuditStore,
  ClaimOptions,
  DeadFanoutJob,
  DocRow,
  DocumentStore,
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
  ReactionStore,
  Store,
  StoredActivity,
  StoreTraits,
  WriteBatch,
} from './store.js'

/** A {@link Store} whose backend is still opening; each call waits for it. */
export class DeferredStore implements Store {
  readonly name: string
  readonly traits?: StoreTraits
  readonly documents: DocumentStore
  readonly reactions: ReactionStore
  readonly audit: AuditStore
  readonly #opening: Promise<Store>
  #opened: Store | undefined
  #closed = false

  /** `open` starts at once; `name` is shown until then (never a password); `traits` are the store's to come. */
  constructor(name: string, open: () => Promise<Store>, traits?: StoreTraits) {
    this.name = name
    if (traits) this.traits = traits
    this.#opening = open()
    // Nobody may be waiting yet: the error is kept for the first call or ready().
    this.#opening.then(
      (store) => {
        this.#opened = store
      },
      () => undefined,
    )
    const store = () => this.#store()
    this.documents = {
      getDocs: async (kind: string, ids: string[]): Promise<DocRow[]> =>
        (await store()).documents.getDocs(kind, ids),
      putDoc: async (kind, id, data, mode, ifUpdatedAt) =>
        (await store()).documents.putDoc(kind, id, data, mode, ifUpdatedAt),
      deleteDocs: async (kind, ids) => (await store()).documents.deleteDocs(kind, ids),
    }
    this.reactions = {
      write: async (batch) => (await store()).reactions.write(batch),
      getReactions: async (ids) => (await store()).reactions.getReactions(ids),
      listReactions: async (queries) => (await store()).reactions.listReactions(queries),
      countReactions: async (nodes) => (await store()).reactions.countReactions(nodes),
    }
    this.audit = {
      append: async (entries) => (await store()).audit.append(entries),
      list: async (query) => (await store()).audit.list(query),
    }
  }

  /** Resolves once the backend is open; rejects with why it could not be. */
  async ready(): Promise<void> {
    await this.#store()
  }

  /**
   * The backend's data version, once it is open and keeps one (`Store.dataVersion`); before that
   * undefined, so nothing is cached until the store is known.
   */
  get dataVersion(): (() => Promise<string>) | undefined {
    const read = this.#opened?.dataVersion?.bind(this.#opened)
    return read && !this.#closed ? read : undefined
  }

  /** The backend's past-cap reads (`Store.readPastCap`), once it is open and has them. */
  get readPastCap(): Store['readPastCap'] {
    return this.#opened?.readPastCap?.bind(this.#opened)
  }

  async #store(): Promise<Store> {
    if (this.#closed) throw closedError(this.name)
    return this.#opening
  }

  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    return (await this.#store()).write(batch)
  }

  async runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null> {
    return (await this.#store()).runFanout(job, chunkSize, delivered)
  }

  async claimFanout(options: ClaimOptions): Promise<FanoutJob[]> {
    return (await this.#store()).claimFanout(options)
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    return (await this.#store()).failFanout(job, failure)
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    return (await this.#store()).deadFanout(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    return (await this.#store()).retryFanout(ids)
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    return (await this.#store()).getActivities(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    return (await this.#store()).findByForeignId(feed, foreignId)
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    return (await this.#store()).getEntries(feed, sks)
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    return (await this.#store()).readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    return (await this.#store()).newestEntries(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    return (await this.#store()).readGroups(feed, page, perGroup, options)
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    return (await this.#store()).followers(feed, query)
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    return (await this.#store()).following(feed, query)
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    return (await this.#store()).countFollows(feed, query)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const store = await this.#opening.catch(() => undefined)
    await store?.close()
  }
}
