/**
 * The hot path: a plain (not enriched) read of a flat feed, answered with the stored JSON bodies
 * spliced into the response text instead of parsed and re-serialized. It returns the same bytes
 * `readFeed` + `JSON.stringify` would, at a fraction of the cost (see bench/server-bench.ts).
 * Responses are built as a head (everything before `duration`) so a page cache can keep heads.
 */

import type { Engine } from '../engine/engine.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { duration, type GetFeedOptions, nextLink } from '../engine/read.js'
import type { PageQuery } from '../store/store.js'
import type { PageCache } from './page-cache.js'

/**
 * The JSON text of a flat feed page up to its `next` field (no duration, no closing brace), or
 * undefined when a body is not in the expected form (the caller falls back).
 */
export async function flatPageHead(
  engine: Engine,
  feed: FeedRef,
  page: PageQuery,
): Promise<string | undefined> {
  // The engine splices stored bodies by its declared contract (engine/activity-json.ts).
  const json = await engine.flatPageJson(feed, page)
  if (json === undefined) return undefined
  const next = nextLink(feed, json.lastId, json.activities.length, page)
  return `{"results":[${json.activities.join(',')}],"next":${JSON.stringify(next)}`
}

/**
 * A read response's JSON text without its `duration` field and closing brace, from the object
 * `readFeed` returns: the same bytes `JSON.stringify` gives up to there (duration is last).
 */
export function responseHead(response: { duration: string }): string {
  const { duration: _, ...rest } = response
  return JSON.stringify(rest).slice(0, -1)
}

/** Completes a head with Stream's `duration`, measured from `started`. */
export function withDuration(head: string, started: number): string {
  return `${head},"duration":"${duration(started)}"}`
}

/**
 * A plain (not enriched) read as JSON text: from `cache` while the store's data version is the
 * one the page was cached under, else read (flat pages spliced, grouped pages serialized) and
 * cached under the version taken before the read. Reads that mark notifications write, so they
 * are never cached; without a cache or a store version, every read goes to the store.
 */
export async function plainReadJson(
  engine: Engine,
  cache: PageCache | undefined,
  feed: FeedRef,
  options: GetFeedOptions,
): Promise<string> {
  const started = performance.now()
  const grouped = feed.group.kind !== 'flat'
  const page = engine.pageOf(feed, options)
  const marks = options.mark_seen !== undefined || options.mark_read !== undefined
  const cached = marks ? undefined : cache
  const version = cached ? await cached.version() : undefined
  const key =
    version === undefined
      ? ''
      : `${feed.id}|${page.limit}|${page.offset}|${page.lt ?? ''}|${page.lte ?? ''}|${page.gt ?? ''}|${page.gte ?? ''}`
  if (cached && version !== undefined) {
    const head = cached.get(key, version)
    if (head !== undefined) return withDuration(head, started)
  }
  let head = grouped ? undefined : await flatPageHead(engine, feed, page)
  head ??= responseHead(await engine.readFeed(feed, options))
  if (cached && version !== undefined) cached.set(key, version, head)
  return withDuration(head, started)
}
