/** Shared builders for the store contract: sort keys, entries, follower feeds, chunk builders. */
import assert from 'node:assert/strict'
import { skToId, sortKey, tailFor } from '../../engine/ids.js'
import type {
  ChunkBuilder,
  EntryWrite,
  FanoutJob,
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
  const rows = await store.readFlat(feed, query)
  return rows.map((r) => N_BY_SK.get(r.sk) ?? Number.NaN)
}

/** Follower feeds `user:00`, `user:01`...: zero-padded so name order is number order. */
export function followerFeeds(count: number, slug = 'user'): string[] {
  return range(0, count - 1).map((i) => `${slug}:${String(i).padStart(2, '0')}`)
}

/** Delivers to flat follower feeds (add) or withdraws from them (remove), origin = job feed. */
export const flatBuilder: ChunkBuilder = (job, followers) =>
  job.op === 'add'
    ? { add: followers.map((feed) => ({ feed, kind: 'flat' as const, sk: job.sk, origin: job.feed })) }
    : { remove: followers.map((feed) => ({ feed, sk: job.sk, origin: job.feed })) }

/** Delivers to notification feeds, one group `g`, so a double delivery would show in the counts. */
export const groupBuilder: ChunkBuilder = (job, followers) => ({
  add: followers.map((feed) => ({
    feed,
    kind: 'notification' as const,
    sk: job.sk,
    origin: job.feed,
    group: 'g',
    actor: 'a',
  })),
})

export function job(jobId: string, feed: string, n: number, op: 'add' | 'remove' = 'add'): FanoutJob {
  return { id: jobId, op, feed, sk: sk(n), cursor: null }
}

export async function drain(store: Store, start: FanoutJob | null, build: ChunkBuilder, chunkSize: number) {
  let next = start
  for (let i = 0; next && i < 1000; i++) next = await store.runFanout(next, build, chunkSize)
  assert.equal(next, null, 'fan-out did not finish')
}
