/**
 * Serialized feed pages, reused while the store's data version is unchanged. A page is cached
 * under the version read *before* the page was read, so a cached page is never older than its
 * version: a write from this process or any other changes the version (SQLite: `PRAGMA
 * data_version` plus the connection's own changes; see `Store.dataVersion`), and the next read
 * sees a new version, drops every cached page and reads the store again. Invalidation is
 * therefore global and costs nothing on write; a read-mostly feed serves its hot pages without
 * touching the store or re-serializing bodies.
 *
 * Reading the version costs a read transaction (SQLite: 3–8 us under load, a tenth of a cached
 * read), so reads share it: every read that asks during one turn of the event loop gets the
 * version taken once at the end of that turn. Each of them arrived before it was taken, so the
 * pages it vouches for are at least as new as the request.
 */

/** Default budget: about 1,600 pages of 25 activities of ~400 bytes. */
export const DEFAULT_PAGE_CACHE_BYTES = 16 * 1024 * 1024

/** Pages as JSON text without their closing `"duration"` field and brace, by feed and query. */
export class PageCache {
  readonly #maxBytes: number
  readonly #turn: TurnVersion
  readonly #readVersion: () => Promise<string> | undefined
  readonly #share: () => boolean
  #version: string | undefined
  #pages = new Map<string, string>()
  #bytes = 0

  /**
   * `maxBytes` bounds the cached text (UTF-16 code units x 2); the oldest pages go first.
   * `readVersion` takes the store's data version (undefined: the store keeps none); `share`
   * says whether reads of one turn may share one version (else each read takes its own).
   */
  constructor(
    maxBytes = DEFAULT_PAGE_CACHE_BYTES,
    readVersion: () => Promise<string> | undefined = () => undefined,
    share: () => boolean = () => true,
  ) {
    this.#maxBytes = maxBytes
    this.#readVersion = readVersion
    this.#share = share
    this.#turn = new TurnVersion(readVersion)
  }

  /** The store's data version, taken after this call (shared with this turn's other reads). */
  version(): Promise<string | undefined> {
    // Shared only while `share` says so: during background fan-out every chunk changes the
    // version anyway, and a read waiting for the end of the turn would wait behind a chunk.
    return this.#share() ? this.#turn.next() : Promise.resolve(this.#readVersion())
  }

  /** The page cached for `key` at `version`, or undefined; a new version empties the cache. */
  get(key: string, version: string): string | undefined {
    if (version !== this.#version) {
      this.#version = version
      this.#pages = new Map()
      this.#bytes = 0
      return undefined
    }
    return this.#pages.get(key)
  }

  /**
   * Keeps `head` for `key`, if `version` (read before the page was) is still the current one:
   * a page read under an older version may already be out of date and is not kept.
   */
  set(key: string, version: string, head: string): void {
    if (version !== this.#version) return
    const size = 2 * (key.length + head.length)
    if (size > this.#maxBytes) return
    const old = this.#pages.get(key)
    if (old !== undefined) {
      this.#pages.delete(key)
      this.#bytes -= 2 * (key.length + old.length)
    }
    // Oldest first: Map iteration follows insertion order.
    for (const [k, v] of this.#pages) {
      if (this.#bytes + size <= this.#maxBytes) break
      this.#pages.delete(k)
      this.#bytes -= 2 * (k.length + v.length)
    }
    this.#pages.set(key, head)
    this.#bytes += size
  }

  /** How many pages are cached (for tests). */
  get size(): number {
    return this.#pages.size
  }
}

/** The store's data version taken once per turn of the event loop for every read that asked. */
class TurnVersion {
  readonly #read: () => Promise<string> | undefined
  #waiting: Promise<string | undefined> | undefined

  /** `read` takes the version (the engine's `dataVersion`). */
  constructor(read: () => Promise<string> | undefined) {
    this.#read = read
  }

  /** A version taken after this call, shared with the other reads of this turn. */
  next(): Promise<string | undefined> {
    this.#waiting ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#waiting = undefined
      return this.#read()
    })
    return this.#waiting
  }
}
