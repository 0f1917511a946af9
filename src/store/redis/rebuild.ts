/**
 * Rebuilding Redis timelines from PostgreSQL (`eddy rebuild-timelines`), for when Redis lost data
 * (a failover that dropped unreplicated writes, a flushed or replaced server). PostgreSQL keeps
 * every feed's direct entries (activities added to it, or addressed to it with `to`) and the
 * follow edges; a feed's timeline is rebuilt as its own direct entries plus the direct entries of
 * the feeds it follows now, newest first, up to the cap, each entry shaped by `shape` (the engine
 * computes it from the body, as fan-out does).
 *
 * What it cannot restore exactly: entries of feeds followed and then unfollowed with
 * `keepHistory`, follow copies limited below the cap (all of the followed feed's recent entries
 * come back), and seen/read marks (rebuilt groups are marked seen and read, so users are not shown
 * old notifications as new). Run it with writes paused: a removal committed while a feed is being
 * rebuilt can come back until it is removed again.
 */
import { quoted } from '../postgres/schema.js'
import { sql } from '../postgres/session.js'
import type { EntryShape, EntryWrite } from '../store.js'
import type { RedisStore } from './index.js'

/** How to rebuild. */
export interface RebuildOptions {
  /** How activity `sk` (stored `body`) enters a feed of `slug`, or undefined when no such group exists. */
  shape(slug: string, sk: string, body: string): EntryShape | undefined
  /** Called after each batch of feeds with how many are done and how many there are. */
  onProgress?(done: number, total: number): void
  /** Feeds per batch (default 200). */
  batch?: number
}

/** What a rebuild did. */
export interface RebuildProgress {
  feeds: number
  entries: number
}

/** Rebuilds the timelines of every feed that has direct entries or follows a feed. */
export async function rebuildTimelines(store: RedisStore, options: RebuildOptions): Promise<RebuildProgress> {
  const session = store.session
  const s = quoted(session.target.schema)
  const cap = store.timelines.redis.settings.cap
  const batchSize = options.batch ?? 200
  const feedsOf = `SELECT feed FROM ${s}.entries WHERE origin IS NULL UNION SELECT source FROM ${s}.follows`
  const st = {
    count: sql(`SELECT count(*)::int AS n FROM (${feedsOf}) AS f`),
    feeds: sql(`SELECT feed FROM (${feedsOf}) AS f(feed) WHERE feed > $1 ORDER BY feed LIMIT $2`),
    // Each feed's own direct entries, and those of every feed it follows, newest `cap` of each.
    entries: sql(`WITH f AS (SELECT unnest($1::text[]) AS feed),
      src AS (SELECT f.feed, f.feed AS src, NULL::text AS origin FROM f
              UNION ALL SELECT fo.source, fo.target, fo.target FROM ${s}.follows AS fo JOIN f ON fo.source = f.feed)
      SELECT src.feed, e.sk, src.origin FROM src CROSS JOIN LATERAL (
        SELECT x.sk FROM ${s}.entries AS x WHERE x.feed = src.src AND x.origin IS NULL
        ORDER BY x.sk DESC LIMIT $2) AS e`),
  }
  const [{ n: total }] = await session.once('rebuild', (db) => db.rows<{ n: number }>(st.count))
  let done = 0
  let entries = 0
  let after = ''
  options.onProgress?.(0, total)
  for (;;) {
    const feeds = (
      await session.once('rebuild', (db) => db.rows<{ feed: string }>(st.feeds, [after, batchSize]))
    ).map((r) => r.feed)
    if (feeds.length === 0) break
    after = feeds[feeds.length - 1]
    const rows = await session.once('rebuild', (db) =>
      db.rows<{ feed: string; sk: string; origin: string | null }>(st.entries, [feeds, cap]),
    )
    const bodies = await store.activities.getActivities([...new Set(rows.map((r) => r.sk))])
    const byFeed = new Map<string, Map<string, string | null>>()
    for (const row of rows) {
      let held = byFeed.get(row.feed)
      if (!held) {
        held = new Map()
        byFeed.set(row.feed, held)
      }
      // A direct entry wins over the same activity through a follow.
      if (!held.has(row.sk) || row.origin === null) held.set(row.sk, row.origin)
    }
    const add: EntryWrite[] = []
    const grouped: string[] = []
    for (const [feed, held] of byFeed) {
      const slug = feed.slice(0, feed.indexOf(':'))
      // Oldest first, as they were delivered: a group is named after its oldest activity.
      const sks = [...held.keys()].sort().slice(-cap)
      let kind: EntryShape['kind'] | undefined
      for (const sk of sks) {
        const body = bodies.get(sk)?.body
        const shape = body === undefined ? undefined : options.shape(slug, sk, body)
        if (!shape) continue
        kind = shape.kind
        add.push({ ...shape, feed, sk, origin: held.get(sk) ?? null })
      }
      if (kind !== undefined && kind !== 'flat') grouped.push(feed)
    }
    await store.timelines.redis.clear(feeds)
    // About 10,000 entries per call, so no script holds Redis for long (feeds stay whole).
    for (let from = 0; from < add.length; ) {
      let to = Math.min(add.length, from + 10_000)
      while (to < add.length && add[to].feed === add[to - 1].feed) to++
      entries += await store.timelines.redis.apply(add.slice(from, to))
      from = to
    }
    for (const feed of grouped) {
      await store.timelines.redis.groups(feed, { limit: 0, offset: 0 }, 0, { seen: true, read: true })
    }
    // Servers' page caches hold pages of the feeds just rewritten.
    await store.timelines.changedEverything()
    done += feeds.length
    options.onProgress?.(done, total)
  }
  return { feeds: done, entries }
}
