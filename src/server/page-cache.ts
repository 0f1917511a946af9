/**
 * Serialized feed pages, reused while their feed's data version is unchanged. A page is cached
 * under the version read *before* the page was read, so a cached page is never older than its
 * version: a write from this process or any other changes the version (SQLite: one version for
 * every feed, `PRAGMA data_version` plus the connection's own changes; PostgreSQL + Redis: one
 * per feed; see `StorageAdapter.dataVersion` and `feedVersions`), and the next read of the feed
 * sees a new version, drops that feed's cached pages and reads the store again. Invalidation
 * costs nothing on write; a read-mostly feed serves its hot pages without touching the store or
 * re-serializing bodies, and with per-feed versions a write elsewhere leaves them cached.
 *
 * Reading versions costs a read transaction or a Redis call (SQLite: 3–8 us under load, a tenth
 * of a cached read), so reads share it: every read that asks during one turn of the event loop
 * gets its feed's version from one call made at the end of that turn. Each of them arrived before
 * it was taken, so the pages it vouches for are at least as new as the request.
 */

/** Default budget: about 1,600 pages of 25 activities of ~400 bytes. */
export const DEFAULT_PAGE_CACHE_BYTES = 16 * 1024 * 1024

/** Feeds whose last seen version is remembered (with or without pages); the oldest go first. */
const MAX_FEEDS = 65_536

/** Reads the versions of `feeds`, in order (undefined: the store keeps none). */
export type ReadVersions = (feeds: string[]) => Promise<string[]> | undefined

/** Pages as JSON text without their closing `"duration"` field and brace, by feed and query. */
export class PageCache {
  readonly #maxBytes: number
  readonly #turn: TurnVersions
  readonly #readVersions: ReadVersions
  readonly #share: () => boolean
  /** Per feed: the newest version a read saw, and the keys of its cached pages. */
  #feeds = new Map<string, { version: string; keys: Set<string> }>()
  /** Every cached page, oldest first (Map iteration follows insertion order). */
  #pages = new Map<string, { feed: string; head: string }>()
  #bytes = 0

  /**
   * `maxBytes` bounds the cached text (UTF-16 code units x 2); the oldest pages go first.
   * `readVersions` takes the store's data versions of feeds (undefined: the store keeps none);
   * `share` says whether reads of one turn may share one call (else each read makes its own).
   */
  constructor(
    maxBytes = DEFAULT_PAGE_CACHE_BYTES,
    readVersions: ReadVersions = () => undefined,
    share: () => boolean = () => true,
  ) {
    this.#maxBytes = maxBytes
    this.#readVersions = readVersions
    this.#share = share
    this.#turn = new TurnVersions(readVersions)
  }

  /** The data version of `feed`'s pages, taken after this call (with this turn's other reads). */
  version(feed: string): Promise<string | undefined> {
    // Shared only while `share` says so: during background fan-out on a store that holds the
    // event loop (SQLite), a read waiting for the end of the turn would wait behind a chunk.
    if (this.#share()) return this.#turn.next(feed)
    return Promise.resolve(this.#readVersions([feed])).then((v) => v?.[0])
  }

  /** The page cached for `key` of `feed` at `version`, or undefined; a new version drops the feed's pages. */
  get(feed: string, key: string, version: string): string | undefined {
    const known = this.#feeds.get(feed)
    if (known?.version === version) return this.#pages.get(key)?.head
    if (known) {
      for (const k of known.keys) this.#drop(k)
      this.#feeds.delete(feed)
    }
    this.#feeds.set(feed, { version, keys: new Set() })
    if (this.#feeds.size > MAX_FEEDS) {
      const [oldest, entry] = this.#feeds.entries().next().value as [string, { keys: Set<string> }]
      for (const k of entry.keys) this.#drop(k)
      this.#feeds.delete(oldest)
    }
    return undefined
  }

  /**
   * Keeps `head` for `key` of `feed`, if `version` (read before the page was) is still the newest
   * one seen for the feed: a page read under an older version may already be out of date.
   */
  set(feed: string, key: string, version: string, head: string): void {
    const known = this.#feeds.get(feed)
    if (known?.version !== version) return
    const size = 2 * (key.length + head.length)
    if (size > this.#maxBytes) return
    this.#drop(key)
    for (const k of this.#pages.keys()) {
      if (this.#bytes + size <= this.#maxBytes) break
      this.#drop(k)
    }
    this.#pages.set(key, { feed, head })
    known.keys.add(key)
    this.#bytes += size
  }

  /** How many pages are cached (for tests). */
  get size(): number {
    return this.#pages.size
  }

  #drop(key: string): void {
    const page = this.#pages.get(key)
    if (!page) return
    this.#pages.delete(key)
    this.#feeds.get(page.feed)?.keys.delete(key)
    this.#bytes -= 2 * (key.length + page.head.length)
  }
}

/** The data versions of every feed a read asked for during one turn, taken in one call at its end. */
class TurnVersions {
  readonly #read: ReadVersions
  #waiting: { feeds: Map<string, number>; versions: Promise<string[] | undefined> } | undefined

  /** `read` takes the versions (the engine's `pageVersions`). */
  constructor(read: ReadVersions) {
    this.#read = read
  }

  /** The version of `feed`, taken after this call, in one call with this turn's other reads. */
  async next(feed: string): Promise<string | undefined> {
    if (!this.#waiting) {
      const feeds = new Map<string, number>()
      const versions = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#waiting = undefined
        return this.#read([...feeds.keys()])
      })
      this.#waiting = { feeds, versions }
    }
    const { feeds, versions } = this.#waiting
    let at = feeds.get(feed)
    if (at === undefined) {
      at = feeds.size
      feeds.set(feed, at)
    }
    return (await versions)?.[at]
  }
}
