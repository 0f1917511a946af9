/**
 * The hot path: a plain (not enriched) read of a flat feed, answered with the stored JSON bodies
 * spliced into the response text instead of parsed and re-serialized. It returns the same bytes
 * `readFeed` + `JSON.stringify` would, at a fraction of the cost (see bench/server-bench.ts).
 * Responses are built as a head (everything before `duration`) so a page cache can keep heads.
 */

import type { Engine } from '../engine/engine.js'
import type { FeedRef } from '../engine/feed-groups.js'
import type { GetFeedOptions } from '../engine/read.js'
import type { PageQuery } from '../store/store.js'
import { withDurationJson } from '../wire/duration.js'
import { feedNextLink, streamLinks } from '../wire/links.js'
import { feedResponseHead } from '../wire/responses.js'
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
  const next = feedNextLink(feed, json.next)
  return `{"results":[${json.activities.join(',')}],"next":${JSON.stringify(next)}`
}

/**
 * A plain (not enriched) read as JSON text: from `cache` while the feed's data version is the
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
  const version = cached ? await cached.version(feed.id) : undefined
  const key =
    version === undefined
      ? ''
      : `${feed.id}|${page.limit}|${page.offset}|${page.lt ?? ''}|${page.lte ?? ''}|${page.gt ?? ''}|${page.gte ?? ''}`
  if (cached && version !== undefined) {
    const head = cached.get(feed.id, key, version)
    if (head !== undefined) return withDurationJson(head, started)
  }
  let head = grouped ? undefined : await flatPageHead(engine, feed, page)
  // Grouped pages (and bodies in an older form) are serialized: the same bytes up to `duration`.
  head ??= JSON.stringify(
    feedResponseHead(await engine.readFeed(feed, options, { links: streamLinks() }), feed),
  ).slice(0, -1)
  if (cached && version !== undefined) cached.set(feed.id, key, version, head)
  return withDurationJson(head, started)
}
