/**
 * When feeds were last read, for fan-out's priority to recently active followers (postgres-fanout-jobs.ts).
 * A read only notes its feed in memory; a timer writes the noted feeds in one batched upsert
 * about a second later, so the read path never waits for it and never fails because of it. A
 * process writes a feed at most once per `everyMs` (a minute, or a quarter of a shorter active
 * window): the table moves with active users, not with reads.
 */
import { quoted } from './schema.js'
import { type Session, sql } from './session.js'

/** The active window fan-out prioritises when nothing else is configured: one day. */
export const DEFAULT_ACTIVE_WINDOW_MS = 86_400_000
/** The longest active window accepted: a year. */
export const MAX_ACTIVE_WINDOW_MS = 365 * DEFAULT_ACTIVE_WINDOW_MS

/** How long a noted read waits for others to share its upsert. */
const FLUSH_DELAY_MS = 1_000
/** Noted feeds that trigger an upsert at once (so one statement stays a bounded array). */
const FLUSH_SIZE = 1_000
/** A process records a feed at most once a minute (or a quarter of a shorter window). */
const RECORD_EVERY_MS = 60_000

/** How reads are recorded; the defaults suit production, tests stretch them. */
export interface FeedReadTiming {
  /** A process writes a feed at most once per this many ms (default a minute, or window / 4). */
  everyMs?: number
  /** How long a noted read waits for others to share its upsert (default 1,000 ms). */
  flushMs?: number
}

/** Records feed reads for one store; `windowMs` 0 records nothing (priority is off). */
export class FeedReads {
  readonly #session: Session
  readonly #windowMs: number
  readonly #everyMs: number
  readonly #flushMs: number
  readonly #upsert
  /** Feeds recorded (or pending) by this process, oldest first, with when. */
  readonly #recent = new Map<string, number>()
  #pending = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(session: Session, schema: string, windowMs: number, timing: FeedReadTiming = {}) {
    this.#session = session
    this.#windowMs = windowMs
    this.#everyMs = timing.everyMs ?? Math.min(RECORD_EVERY_MS, Math.floor(windowMs / 4))
    this.#flushMs = timing.flushMs ?? FLUSH_DELAY_MS
    const s = quoted(schema)
    // Feeds in order, so two processes' upserts lock rows in the same order (no deadlock); a
    // time never moves back (another process's clock, a late flush).
    this.#upsert = sql(`INSERT INTO ${s}.feed_reads AS r (feed, read_at)
      SELECT f, now() FROM unnest($1::text[]) AS f ORDER BY f
      ON CONFLICT (feed) DO UPDATE SET read_at = excluded.read_at WHERE r.read_at < excluded.read_at`)
  }

  /** The active window fan-out uses, in ms (0: no priority). */
  get windowMs(): number {
    return this.#windowMs
  }

  /** Notes that `feed` was read; written later, in a batch. Never throws. */
  note(feed: string): void {
    if (this.#windowMs === 0) return
    const now = Date.now()
    const last = this.#recent.get(feed)
    if (last !== undefined && now - last < this.#everyMs) return
    // Re-inserted so the map stays in time order and pruning stops at the first recent feed.
    this.#recent.delete(feed)
    this.#recent.set(feed, now)
    this.#pending.add(feed)
    if (this.#pending.size >= FLUSH_SIZE) this.#schedule(0)
    else this.#schedule(this.#flushMs)
  }

  /** Writes the noted reads now; resolves when written (or given up: a failure is dropped). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const feeds = [...this.#pending].sort()
    this.#pending = new Set()
    this.#prune()
    if (feeds.length === 0) return this.#flushing
    this.#flushing = this.#flushing.then(() =>
      this.#session
        .once('recordReads', (db) => db.run(this.#upsert, [feeds]))
        .then(
          () => undefined,
          () => {
            // Best effort: the next read of these feeds records them again.
            for (const feed of feeds) this.#recent.delete(feed)
          },
        ),
    )
    return this.#flushing
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) {
      if (ms > 0) return
      clearTimeout(this.#timer)
    }
    this.#timer = setTimeout(() => void this.flush(), ms)
    // A pending note never keeps a process alive; close() flushes it.
    this.#timer.unref()
  }

  /** Forgets feeds recorded longer ago than `everyMs`, so the map holds recent readers only. */
  #prune(): void {
    const now = Date.now()
    for (const [feed, at] of this.#recent) {
      if (now - at < this.#everyMs) break
      this.#recent.delete(feed)
    }
  }
}

/**
 * Parses an active window: `0` (off), or a whole number with a unit, `ms`, `s`, `m`, `h` or `d`
 * (`30m`, `24h`, `1d`), up to a year. Returns milliseconds; throws saying what `name` must be.
 */
export function parseActiveWindow(text: string, name: string): number {
  const match = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text)
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
  const ms =
    match && (match[2] !== undefined || match[1] === '0')
      ? Number(match[1]) * unit[(match[2] ?? 'ms') as 'ms']
      : -1
  if (ms < 0 || ms > MAX_ACTIVE_WINDOW_MS) {
    throw new Error(
      `${name} must be 0 (no priority) or a duration up to 365d such as 30m, 24h or 1d, got ${JSON.stringify(text)}`,
    )
  }
  return ms
}

/** Returns `ms` if it is a whole number of milliseconds from 0 to a year; throws otherwise. */
export function checkActiveWindow(ms: number, name: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_ACTIVE_WINDOW_MS) {
    throw new Error(
      `${name} must be a whole number of milliseconds from 0 (no priority) to ${MAX_ACTIVE_WINDOW_MS} (a year), got ${ms}`,
    )
  }
  return ms
}
