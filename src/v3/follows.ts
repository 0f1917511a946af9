/**
 * V3 follows on the engine's follow edges: `source` follows `target` (fids), made and removed
 * through the engine (which copies the target's recent activities and fans out new ones), listed
 * with the engine's follower/following queries. A user may follow from and unfollow its own
 * feeds only. Follow requests (pending follows of `followers`-visibility feeds) are in docs/v3.md
 * as not yet served: such follows are made at once when the caller may read the target.
 */

import { inputError, notFound } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import type { FollowRow } from '../store/store.js'
import { feedOf, feedResponses, loadFeeds, mayRead, requireOwner } from './feeds.js'
import type { FollowRequest, FollowResponse } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'
import { notify } from './notifications.js'
import { rfc3339 } from './time.js'

/** Most follows one batch may carry. */
const MAX_FOLLOWS = 100
/** Followers scanned to decide whether a user follows a feed (the engine's largest follow page). */
const FOLLOWER_SCAN = 500

/** Whether any feed of `userId` (a feed whose id is the user's, or that the user created) follows `target`. */
export async function isFollowing(ctx: ServerContext, userId: string, target: FeedRef): Promise<boolean> {
  const rows = await ctx.engine.follows(target, 'followers', { limit: FOLLOWER_SCAN })
  if (rows.some((r) => r.source.slice(r.source.indexOf(':') + 1) === userId)) return true
  const feeds = await loadFeeds(
    ctx,
    rows.map((r) => feedOf(ctx, r.source, 'source')),
  )
  return [...feeds.values()].some((f) => f.data.created_by === userId)
}

/** Follow rows as V3 FollowResponses (their feeds loaded once). */
export async function followResponses(
  ctx: ServerContext,
  rows: FollowRow[],
  caller?: Caller,
): Promise<FollowResponse[]> {
  const refs = rows.flatMap((r) => [feedOf(ctx, r.source, 'source'), feedOf(ctx, r.target, 'target')])
  const loaded = await loadFeeds(ctx, refs)
  const feeds = [...loaded.values()]
  const shown = await feedResponses(ctx, feeds, caller)
  const byFid = new Map(feeds.map((f, i) => [f.fid, shown[i]]))
  return rows.map((r) => ({
    source_feed: known(byFid, r.source),
    target_feed: known(byFid, r.target),
    created_at: rfc3339(r.createdAt),
    updated_at: rfc3339(r.updatedAt),
    status: 'accepted',
    follower_role: 'feed_follower',
    push_preference: 'all',
  }))
}

/** Checks and makes follows; returns their rows. */
async function follow(ctx: ServerContext, caller: Caller, requests: FollowRequest[]): Promise<FollowRow[]> {
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_FOLLOWS)
    throw inputError(`follows must list 1 to ${MAX_FOLLOWS} follows`, requests, 'follows')
  const pairs = requests.map((r, i) => {
    if (r === null || typeof r !== 'object')
      throw inputError('a follow must be { source, target }', r, `follows[${i}]`)
    return {
      source: feedOf(ctx, r.source, 'source'),
      target: feedOf(ctx, r.target, 'target'),
      limit: r.activity_copy_limit,
    }
  })
  const feeds = await loadFeeds(
    ctx,
    pairs.flatMap((p) => [p.source, p.target]),
  )
  for (const p of pairs) {
    requireOwner(caller, known(feeds, p.source.id))
    const target = known(feeds, p.target.id)
    const user = caller.kind === 'user' ? caller.userId : undefined
    // A private feed is followed only by its owner; others need to be able to read it.
    if (!mayRead(caller, target, false) && target.data.created_by !== user) throw notAllowed()
  }
  await ctx.engine.follow(pairs)
  for (const [i, p] of pairs.entries()) {
    if (requests[i].create_notification_activity !== true) continue
    const actor = known(feeds, p.source.id).data.created_by
    await notify(ctx, {
      type: 'follow',
      actor,
      notified: known(feeds, p.target.id).data.created_by,
      object: p.target.id,
      context: {
        target: { id: p.target.id },
        trigger: { type: 'follow', text: `${actor} started following you` },
      },
    })
  }
  return listPairs(ctx, pairs)
}

/** The stored rows of follow pairs (in order). */
async function listPairs(
  ctx: ServerContext,
  pairs: { source: FeedRef; target: FeedRef }[],
): Promise<FollowRow[]> {
  const rows: FollowRow[] = []
  for (const p of pairs) {
    const [row] = await ctx.engine.follows(p.source, 'following', { filter: [p.target.id], limit: 1 })
    if (row) rows.push(row)
  }
  return rows
}

/** Registers the V3 follow routes. */
export function followRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  // Both feeds' watchers hear of a follow: the follower's and the followed one's.
  const announce = (type: string, follows: FollowResponse[]) => {
    for (const follow of follows) {
      const fids = new Set([follow.source_feed.feed, follow.target_feed.feed])
      for (const fid of fids) hub.publish(fid, [v3Event(type, { fid, follow })])
    }
  }
  const single = async (caller: Caller, body: Record<string, unknown>) => {
    const [row] = await follow(ctx, caller, [body as unknown as FollowRequest])
    const [shown] = await followResponses(ctx, [row], caller)
    announce('feeds.follow.created', [shown])
    return { follow: shown }
  }
  v3route(edge, 'POST', '/feeds/follows', async ({ caller, body }) => single(caller, body), 201)
  v3route(edge, 'POST', '/feeds/follows/upsert', async ({ caller, body }) => single(caller, body), 201)

  const batch = async (caller: Caller, body: Record<string, unknown>) => {
    const requests = body.follows as FollowRequest[]
    // Follows that exist already are returned but not `created` (getOrCreate semantics).
    const before = Array.isArray(requests)
      ? await listPairs(
          ctx,
          requests.map((r, i) => ({
            source: feedOf(ctx, r?.source, `follows[${i}].source`),
            target: feedOf(ctx, r?.target, `follows[${i}].target`),
          })),
        )
      : []
    const existed = new Set(before.map((r) => `${r.source} ${r.target}`))
    const rows = await follow(ctx, caller, requests)
    const shown = await followResponses(ctx, rows, caller)
    const created = shown.filter((f) => !existed.has(`${f.source_feed.feed} ${f.target_feed.feed}`))
    announce('feeds.follow.created', created)
    return { follows: shown, created }
  }
  v3route(edge, 'POST', '/feeds/follows/batch', async ({ caller, body }) => batch(caller, body), 201)
  v3route(edge, 'POST', '/feeds/follows/batch/upsert', async ({ caller, body }) => batch(caller, body), 201)

  const unfollow = async (caller: Caller, source: unknown, target: unknown, keepHistory: boolean) => {
    const pair = { source: feedOf(ctx, source, 'source'), target: feedOf(ctx, target, 'target') }
    const feeds = await loadFeeds(ctx, [pair.source, pair.target])
    requireOwner(caller, known(feeds, pair.source.id))
    const [row] = await listPairs(ctx, [pair])
    if (!row) throw notFound(`${pair.source.id} does not follow ${pair.target.id}`)
    const [shown] = await followResponses(ctx, [row], caller)
    await ctx.engine.unfollow([{ ...pair, keepHistory }])
    announce('feeds.follow.deleted', [shown])
    return { follow: shown }
  }
  v3route(edge, 'DELETE', '/feeds/follows/:source/:target', async ({ caller, params, query }) =>
    unfollow(caller, params.source, params.target, query.keep_history === 'true'),
  )
  v3route(edge, 'POST', '/feeds/unfollow/upsert', async ({ caller, body }) =>
    unfollow(caller, body.source, body.target, body.keep_history === true),
  )

  v3route(edge, 'POST', '/feeds/unfollow/batch/upsert', async ({ caller, body }) => {
    const list = body.follows
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FOLLOWS)
      throw inputError(`follows must list 1 to ${MAX_FOLLOWS} { source, target }`, list, 'follows')
    const follows: FollowResponse[] = []
    for (const item of list as { source?: unknown; target?: unknown; keep_history?: unknown }[]) {
      // getOrCreate: a pair that is not followed (any more) is skipped, not an error.
      const done = await unfollow(caller, item?.source, item?.target, item?.keep_history === true).catch(
        (err) => {
          if ((err as { status_code?: number }).status_code === 404) return undefined
          throw err
        },
      )
      if (done) follows.push(done.follow)
    }
    return { follows }
  })

  v3route(edge, 'POST', '/feeds/follows/query', async ({ caller, body }) => {
    const filter = (body.filter ?? {}) as Record<string, unknown>
    const pick = (key: string) => {
      const v = filter[key]
      if (typeof v === 'string') return v
      if (v && typeof v === 'object' && typeof (v as { $eq?: unknown }).$eq === 'string')
        return (v as { $eq: string }).$eq
      return undefined
    }
    const source = pick('source_feed')
    const target = pick('target_feed')
    const limit = typeof body.limit === 'number' ? body.limit : 25
    let rows: FollowRow[]
    if (source !== undefined) {
      const ref = feedOf(ctx, source, 'filter.source_feed')
      rows = await ctx.engine.follows(ref, 'following', {
        limit,
        filter: target === undefined ? [] : [target],
      })
    } else if (target !== undefined) {
      rows = await ctx.engine.follows(feedOf(ctx, target, 'filter.target_feed'), 'followers', { limit })
    } else throw inputError('filter must name source_feed or target_feed', filter, 'filter')
    const visible = await loadFeeds(
      ctx,
      rows.flatMap((r) => [feedOf(ctx, r.source, 'source'), feedOf(ctx, r.target, 'target')]),
    )
    if (caller.kind !== 'server')
      for (const f of visible.values())
        if (
          f.data.visibility === 'private' &&
          !(caller.kind === 'user' && caller.userId === f.data.created_by)
        )
          throw notAllowed()
    return { follows: await followResponses(ctx, rows, caller) }
  })
}
