/** Shared builders for the store contract: sort keys, entries, follower feeds, chunk builders. */
import assert from 'node:assert/strict'
import { idToSk, skToId, sortKey, tailFor } from '../../engine/ids.js'
import type {
  EntryShape,
  EntryWrite,
  FanoutJob,
  GroupPageQuery,
  GroupRow,
  MarkTarget,
  PageQuery,
  Store,
  StoredActivity,
} from '../../store/store.js'

/** One contract case: a title and a body that gets a fresh store. */
export type Test = (title: string, body: (store: Store) => Promise<void>) => void

export const T0 = 1_700_000_000_000_000
export const TAIL = tailFor('x')

/** The n-th test sort key; keys are one second apart and increase with n. */
export function sk(n: number): string {
  return sortKey(T0 + n * 1_000_000, TAIL)
}

/** The activity id of the n-th test sort key. */
export function id(n: number): string {
  return skToId(sk(n))
}

export function activity(n: number, foreignId?: string): StoredActivity {
  const key = sk(n)
  return { sk: key, body: JSON.stringify({ id: skToId(key), n }), foreignId }
}

export function activities(...ns: number[]): StoredActivity[] {
  return ns.map((n) => activity(n))
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

export function flat(feed: string, n: number, origin: string | null = null, maxLength?: number): EntryWrite {
  const entry: EntryWrite = { feed, kind: 'flat', sk: sk(n), origin }
  if (maxLength !== undefined) entry.maxLength = maxLength
  return entry
}

export function page(extra: Partial<PageQuery> = {}): PageQuery {
  return { limit: 100, offset: 0, ...extra }
}

export const N_BY_SK = new Map(range(-10, 100).map((n) => [sk(n), n]))

/** The test numbers of a flat page, for short assertions. */
export async function flatNs(store: Store, feed: string, query: PageQuery = page()): Promise<number[]> {
  const rows = await store.timelines.readFlat(feed, query)
  return rows.map((r) => N_BY_SK.get(r.sk) ?? Number.NaN)
}

/** Follower feeds `user:00`, `user:01`...: zero-padded so name order is number order. */
export function followerFeeds(count: number, slug = 'user'): string[] {
  return range(0, count - 1).map((i) => `${slug}:${String(i).padStart(2, '0')}`)
}

/** Follower feeds get a flat entry; `notification:` followers one group `g`, so a double delivery shows in counts. */
export function shapes(n: number): Record<string, EntryShape> {
  return {
    user: { kind: 'flat' },
    timeline: { kind: 'flat' },
    notification: { kind: 'notification', group: 'g', actor: 'a', groupId: id(n) },
  }
}

/** An accepted job for activity `n` of `feed`, with {@link shapes} for adds. */
export function job(jobId: string, feed: string, n: number, op: 'add' | 'remove' = 'add'): FanoutJob {
  return op === 'add'
    ? { id: jobId, op, feed, sk: sk(n), shapes: shapes(n), cursor: null }
    : { id: jobId, op, feed, sk: sk(n), cursor: null }
}

/** Runs `start` and every later chunk until the job is done. */
export async function drain(store: Store, start: FanoutJob | null | undefined, chunkSize: number) {
  let next = start ?? null
  for (let i = 0; next && i < 1000; i++) next = await store.jobs.runFanout(next, chunkSize)
  assert.equal(next, null, 'fan-out did not finish')
}

/** Whether `feed` holds activity `n`, and through which origin. */
export async function entryOf(store: Store, feed: string, n: number) {
  return (await store.timelines.getEntries(feed, [sk(n)])).get(sk(n))
}

/** Group ids as the engine passes them: each with the sort key it names as an activity id. */
export function groupPage(q: Partial<Record<'lt' | 'lte' | 'gt' | 'gte', string>> & Partial<PageQuery> = {}) {
  const out: GroupPageQuery = { limit: q.limit ?? 100, offset: q.offset ?? 0 }
  for (const bound of ['lt', 'lte', 'gt', 'gte'] as const) {
    const value = q[bound]
    if (value !== undefined) out[bound] = { id: value, sk: idToSk(value) ?? '' }
  }
  return out
}

/** The groups of a page. */
export async function groupsOf(
  store: Store,
  feed: string,
  q: Parameters<typeof groupPage>[0] = {},
  perGroup = 100,
): Promise<GroupRow[]> {
  return (await store.timelines.readGroups(feed, groupPage(q), perGroup)).groups
}

/** Unseen and unread counts of a notification feed, read with an empty page. */
export async function countsOf(store: Store, feed: string) {
  const { unseen, unread } = await store.timelines.readGroups(feed, { limit: 0, offset: 0 }, 1, {
    counts: true,
  })
  return { unseen, unread }
}

/** Marks groups through an empty page read, as the engine does on `mark_seen`/`mark_read`. */
export async function mark(store: Store, feed: string, seen?: MarkTarget, read?: MarkTarget) {
  await store.timelines.readGroups(feed, { limit: 0, offset: 0 }, 1, { seen, read })
}

/** Follower (or following) count of `feed`, optionally only other ends of these slugs. */
export async function followCount(
  store: Store,
  feed: string,
  direction: 'followers' | 'following',
  slugs: string[] = [],
): Promise<number | undefined> {
  return (await store.follows.countFollows(feed, { [direction]: slugs }))[direction]
}

/**
 * Resolves once the wall clock has passed `iso` (a store's timestamp), so that the next write is
 * stamped later: a condition to wait for rather than a guessed sleep (usually a millisecond).
 */
export async function clockPasses(iso: string): Promise<void> {
  const at = Date.parse(iso)
  while (Date.now() <= at) await new Promise((resolve) => setTimeout(resolve, 1))
}

/** Retries `attempt` until it returns something `done` accepts (every 5 ms, 30 s at most). */
export async function until<T>(attempt: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const value = await attempt()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
