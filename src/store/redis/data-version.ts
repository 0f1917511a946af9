/**
 * The data version of a PostgreSQL + Redis store (`Store.dataVersion`), shared by every server and
 * worker on the same Redis and prefix: one counter that each write and each fan-out chunk bumps
 * after its PostgreSQL COMMIT and before the call resolves, and that a server's page cache reads
 * (one GET, shared by the reads of one event-loop turn) before it reads a page.
 *
 * Why after COMMIT: a write's Redis entries are in place before PostgreSQL commits, but its
 * bodies are not visible until the commit, so a page read in between may miss the write. A bump
 * after COMMIT makes such a page's version older than the version any read after the
 * acknowledgement takes, so it is never served again. A bump before COMMIT would not.
 *
 * The counter starts at a random 48-bit value when the key is missing (a flushed or restarted
 * Redis without persistence), so it never repeats a version a server cached pages under before.
 * A bump that fails after a commit rejects the call (503: stored, but servers may not know yet)
 * and is retried in the background until Redis takes it, so caches cannot keep a stale page past
 * the outage (during which the timelines, also in Redis, cannot be read anyway).
 */
import { randomInt } from 'node:crypto'
import { StoreError } from '../errors.js'
import { redisFailure } from '../outage.js'
import type { RedisClient } from './driver.js'

// EXISTS then SET in one script: atomic, so two first bumps cannot both seed the counter.
const BUMP = `if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])`

const RETRY_MS = 200

/** The shared data-version counter under a prefix (`<prefix>:{meta}:changes`). */
export class DataVersion {
  readonly #client: RedisClient
  readonly #key: string
  readonly #shown: string
  #retrying = false
  #closed = false

  /** `shown` names the Redis in errors (no password). */
  constructor(client: RedisClient, prefix: string, shown: string) {
    this.#client = client
    this.#key = `${prefix}:{meta}:changes`
    this.#shown = shown
  }

  /** The current version; a missing counter gives a value no other read gets (nothing reused). */
  async read(): Promise<string> {
    const value = await this.#guard('a data version read', () => this.#client.call('GET', this.#key))
    return value === null ? `none.${randomInt(2 ** 47)}.${performance.now()}` : String(value)
  }

  /** Moves the version on; on failure, rejects and keeps trying in the background. */
  async bump(): Promise<void> {
    try {
      await this.#bumpOnce()
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

  #bumpOnce(): Promise<unknown> {
    return this.#guard('a data version bump', () =>
      this.#client.call('EVAL', BUMP, 1, this.#key, String(randomInt(2 ** 47))),
    )
  }

  #retry(): void {
    if (this.#retrying || this.#closed) return
    this.#retrying = true
    const attempt = () => {
      if (this.#closed) return
      this.#bumpOnce().then(
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
