/**
 * The data versions of a PostgreSQL + Redis store, shared by every server and worker on the same
 * Redis and prefix, which servers' page caches check before they serve a page.
 *
 * A feed's version is `<shared>.<counter>.<size>`: the shared counter (`<prefix>:{meta}:changes`)
 * moves on what may change pages of any feed (a body replaced, a rebuild); the feed's own counter
 * (`<prefix>:{bN}:v:<feed>`, in its bucket's slot) on every change to it but an add; its entry
 * set's size on every add. So a fan-out chunk, whose adds show in the sizes, pays nothing for the
 * versions of its followers but a counter bump where a trim removed entries (lua.ts).
 *
 * Ordering: a version is taken before the page is read, so a page is never older than its
 * version. Scripts move what they change atomically with the change (adds, trims, removals,
 * group state, marks). A store write also moves the counters of the feeds it touched after its
 * PostgreSQL COMMIT, before the call resolves: its Redis entries are in place before COMMIT but
 * their bodies are not visible until it, so a page read in between may miss the write, and only
 * a bump after COMMIT keeps that page from being served again.
 *
 * A missing counter (a flushed Redis, a rebuilt feed) starts at the clock in microseconds when it
 * is next read or bumped, above any value it held before, so no version repeats. A bump that fails
 * after a commit rejects the call (503: stored, but servers may not know yet) and the shared
 * counter is bumped in the background until Redis takes it, so caches cannot keep a stale page
 * past the outage (during which the timelines, also in Redis, cannot be read anyway).
 */
import { StoreError } from '../errors.js'
import { redisFailure } from '../outage.js'
import type { RedisClient } from './driver.js'
import type { KeySpace } from './keys.js'
import { BUMP, VERSIONS } from './lua.js'

const RETRY_MS = 200

type Script = (...args: (string | number)[]) => Promise<unknown>

/** The shared counter and the feeds' counters under a prefix. */
export class DataVersion {
  readonly #client: RedisClient
  readonly #keys: KeySpace
  readonly #cluster: boolean
  readonly #shared: string
  readonly #shown: string
  #retrying = false
  #closed = false

  /** `shown` names the Redis in errors (no password); `cluster`: calls go per slot. */
  constructor(client: RedisClient, keys: KeySpace, cluster: boolean, shown: string) {
    this.#client = client
    this.#keys = keys
    this.#cluster = cluster
    this.#shared = `${keys.prefix}:{meta}:changes`
    this.#shown = shown
    client.defineCommand('eddyVersions', { lua: VERSIONS })
    client.defineCommand('eddyBump', { lua: BUMP })
  }

  /** The shared version: moves with every change to any feed (see `feeds` for one feed's). */
  async read(): Promise<string> {
    const [shared] = await this.#versions([this.#shared], '1')
    return shared
  }

  /** The version of each of `feeds`, in order: one script call (one per slot on a cluster). */
  async feeds(feeds: string[]): Promise<string[]> {
    if (!this.#cluster) {
      const [shared, ...own] = await this.#versions(
        [this.#shared, ...feeds.map((f) => this.#keys.entries(f))],
        '1',
      )
      return own.map((v) => `${shared}.${v}`)
    }
    const bySlot = new Map<string, number[]>()
    feeds.forEach((feed, i) => {
      const tag = this.#keys.tag(feed)
      const list = bySlot.get(tag)
      if (list) list.push(i)
      else bySlot.set(tag, [i])
    })
    const out: string[] = new Array(feeds.length)
    const [[shared]] = await Promise.all([
      this.#versions([this.#shared], '1'),
      ...[...bySlot.entries()].map(async ([tag, at]) => {
        const own = await this.#versions(
          at.map((i) => this.#keys.entries(feeds[i], tag)),
          '0',
        )
        at.forEach((i, k) => {
          out[i] = own[k]
        })
        return own
      }),
    ])
    return out.map((v) => `${shared}.${v}`)
  }

  /**
   * After a commit: moves on the counters of `feeds`, or with `everything` the shared one. On
   * failure, rejects and keeps bumping the shared counter in the background until Redis takes it.
   */
  async bump(feeds: string[], everything = false): Promise<void> {
    if (!everything && feeds.length === 0) return
    try {
      if (everything) await this.#bump([this.#shared])
      else if (!this.#cluster) await this.#bump([...new Set(feeds)].map((f) => this.#keys.counter(f)))
      else {
        const byTag = new Map<string, string[]>()
        for (const feed of new Set(feeds)) {
          const tag = this.#keys.tag(feed)
          const list = byTag.get(tag)
          if (list) list.push(this.#keys.counter(feed, tag))
          else byTag.set(tag, [this.#keys.counter(feed, tag)])
        }
        await Promise.all([...byTag.values()].map((keys) => this.#bump(keys)))
      }
    } catch (error) {
      this.#retry()
      throw new StoreError(
        'unavailable',
        `${(error as Error).message}; the write was stored, but servers' page caches may miss it until Redis answers (Eddy keeps trying)`,
        { cause: error },
      )
    }
  }

  /** Stops background retries (the store is closing). */
  close(): void {
    this.#closed = true
  }

  async #versions(keys: string[], shared: '0' | '1'): Promise<string[]> {
    const run = this.#client.eddyVersions as Script
    const out = await this.#guard('a data version read', () =>
      run.call(this.#client, keys.length, ...keys, shared),
    )
    return (out as unknown[]).map(String)
  }

  #bump(keys: string[]): Promise<unknown> {
    const run = this.#client.eddyBump as Script
    return this.#guard('a data version bump', () => run.call(this.#client, keys.length, ...keys))
  }

  #retry(): void {
    if (this.#retrying || this.#closed) return
    this.#retrying = true
    const attempt = () => {
      if (this.#closed) return
      this.#bump([this.#shared]).then(
        () => {
          this.#retrying = false
        },
        () => setTimeout(attempt, RETRY_MS).unref(),
      )
    }
    setTimeout(attempt, RETRY_MS).unref()
  }

  async #guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw new StoreError(
        'unavailable',
        `Redis at ${this.#shown} failed ${what}: ${redisFailure(this.#client, error, this.#shown)}`,
        { cause: error },
      )
    }
  }
}
