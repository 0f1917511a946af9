/**
 * V3 follows on the engine's follow edges: `source` follows `target` (fids), through the
 * engine's V3 follow use cases (`engine.v3Follows`): a follow of a `followers` feed is a request
 * its owner accepts or rejects, others are made at once (the engine copies the target's recent
 * activities and fans out new ones); what a caller may follow is v3-access.ts's rule. A user
 * follows from, unfollows and updates its own feeds' follows only, and answers requests to its
 * own feeds only. Every change is announced to both feeds' watchers (`feeds.follow.*`).
 */

import { inputError, notFound } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { canView, followMode } from '../engine/v3-access.js'
import { type FollowExtras, type FollowState, followExtras, fromEdge } from '../engine/v3-follow-model.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import type { FollowRow } from '../store/store.js'
import {
  accessVisibility,
  feedOf,
  feedResponses,
  loadFeeds,
  requireOwner,
  standing,
  type V3Feed,
} from './feeds.js'
import type { FollowRequest, FollowResponse } from './gen/spec.js'
import { type Caller, type Edge, requireApp, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'
import { notify } from './notify.js'
import { rfc3339 } from './time.js'

/** Most follows one batch may carry. */
const MAX_FOLLOWS = 100
/** Followers scanned to find a user's follows of a feed (the engine's largest follow page). */
const FOLLOWER_SCAN = 500
/** Most follows a query returns. */
const MAX_QUERY = 100

const pairKey = (source: string, target: string) => `${source} ${target}`

/**
 * The follows of `target` made from feeds of `userId` (a feed whose id is the user's, or that the
 * user created): accepted ones among its newest followers, and pending requests.
 */
export async function ownFollows(
  ctx: ServerContext,
  userId: string,
  target: FeedRef,
): Promise<FollowState[]> {
  const [rows, pending] = await Promise.all([
    ctx.engine.follows(target, 'followers', { limit: FOLLOWER_SCAN }),
    ctx.engine.v3Follows.pending(target.id, FOLLOWER_SCAN),
  ])
  const candidates = [...rows.map((r) => r.source), ...pending.map((p) => p.source)]
  const feeds = await loadFeeds(
    ctx,
    candidates.map((fid) => feedOf(ctx, fid, 'source')),
  )
  const mine = (fid: string) =>
    fid.slice(fid.indexOf(':') + 1) === userId || feeds.get(fid)?.data.created_by === userId
  const states = await withStates(
    ctx,
    rows.filter((r) => mine(r.source)),
  )
  return [...states, ...pending.filter((p) => mine(p.source))]
}

/** Whether a feed of `userId` follows `target` (an accepted follow). */
export async function isFollowing(ctx: ServerContext, userId: string, target: FeedRef): Promise<boolean> {
  return (await ownFollows(ctx, userId, target)).some((f) => f.status === 'accepted')
}

/** Engine follow rows with their V3 state (status, custom, preference). */
async function withStates(ctx: ServerContext, rows: FollowRow[]): Promise<FollowState[]> {
  const states = await ctx.engine.v3Follows.states(rows)
  return rows.map((r) => {
    const state = states.get(pairKey(r.source, r.target))
    return state ? { ...state, status: 'accepted' } : fromEdge(r)
  })
}

/** Follow rows or states as V3 FollowResponses (their feeds loaded once). */
export async function followResponses(
  ctx: ServerContext,
  items: (FollowRow | FollowState)[],
  caller?: Caller,
): Promise<FollowResponse[]> {
  const states = await Promise.all(
    items.map(async (i) => ('status' in i ? i : (await withStates(ctx, [i]))[0])),
  )
  const refs = states.flatMap((r) => [feedOf(ctx, r.source, 'source'), feedOf(ctx, r.target, 'target')])
  const loaded = await loadFeeds(ctx, refs)
  const feeds = [...loaded.values()]
  const shown = await feedResponses(ctx, feeds, caller)
  const byFid = new Map(feeds.map((f, i) => [f.fid, shown[i]]))
  return states.map((s) => {
    const out: FollowResponse = {
      source_feed: known(byFid, s.source),
      target_feed: known(byFid, s.target),
      created_at: rfc3339(s.created_at),
      updated_at: rfc3339(s.updated_at),
      status: s.status,
      follower_role: s.follower_role,
      push_preference: s.push_preference,
    }
    if (s.custom) out.custom = s.custom
    if (s.request_accepted_at) out.request_accepted_at = s.request_accepted_at
    if (s.request_rejected_at) out.request_rejected_at = s.request_rejected_at
    return out
  })
}

/** A follow pair of a body, its feeds parsed. */
function pairOf(ctx: ServerContext, body: { source?: unknown; target?: unknown }, field = '') {
  return {
    source: feedOf(ctx, body?.source, `${field}source`),
    target: feedOf(ctx, body?.target, `${field}target`),
  }
}

/** Throws 403 unless `caller` may answer requests to (and remove followers of) `target`. */
function requireTargetOwner(caller: Caller, target: V3Feed): void {
  requireOwner(caller, target)
}

/** Checks and makes follows (or follow requests); returns their states, in order. */
async function follow(ctx: ServerContext, caller: Caller, requests: FollowRequest[]): Promise<FollowState[]> {
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_FOLLOWS)
    throw inputError(`follows must list 1 to ${MAX_FOLLOWS} follows`, requests, 'follows')
  const pairs = requests.map((r, i) => {
    if (r === null || typeof r !== 'object')
      throw inputError('a follow must be { source, target }', r, `follows[${i}]`)
    const extras: FollowExtras = followExtras(r as unknown as Record<string, unknown>)
    return { ...pairOf(ctx, r), limit: r.activity_copy_limit, extras }
  })
  const feeds = await loadFeeds(
    ctx,
    pairs.flatMap((p) => [p.source, p.target]),
  )
  const modes = await Promise.all(
    pairs.map(async (p) => {
      requireOwner(caller, known(feeds, p.source.id))
      const target = known(feeds, p.target.id)
      const mode = followMode(accessVisibility(target), await standing(ctx, caller, target))
      if (mode === 'refused') throw notAllowed()
      return mode
    }),
  )
  const direct = pairs.filter((_, i) => modes[i] === 'follow')
  if (direct.length > 0) await ctx.engine.v3Follows.follow(direct)
  const requested = new Map<string, FollowState>()
  for (const [i, p] of pairs.entries())
    if (modes[i] === 'request')
      requested.set(
        pairKey(p.source.id, p.target.id),
        await ctx.engine.v3Follows.request(p.source, p.target, p.extras),
      )
  for (const [i, p] of pairs.entries()) {
    // A request notifies too: the owner learns someone asked.
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
  const rows = await withStates(ctx, await edges(ctx, direct))
  const made = new Map(rows.map((r) => [pairKey(r.source, r.target), r]))
  return pairs.flatMap((p) => {
    const k = pairKey(p.source.id, p.target.id)
    const state = requested.get(k) ?? made.get(k)
    return state ? [state] : []
  })
}

/** The engine edges of follow pairs that have one (in order). */
async function edges(
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
    const [state] = await follow(ctx, caller, [body as unknown as FollowRequest])
    const [shown] = await followResponses(ctx, [state], caller)
    announce('feeds.follow.created', [shown])
    return { follow: shown }
  }
  v3route(edge, 'POST', '/feeds/follows', async ({ caller, body }) => single(caller, body), 201)
  v3route(edge, 'POST', '/feeds/follows/upsert', async ({ caller, body }) => single(caller, body), 201)

  const batch = async (caller: Caller, body: Record<string, unknown>) => {
    const requests = body.follows as FollowRequest[]
    // Follows that exist already (or are requested already) are returned but not `created`.
    const asked = Array.isArray(requests)
      ? requests.slice(0, MAX_FOLLOWS).map((r, i) => pairOf(ctx, r, `follows[${i}].`))
      : []
    const before = await edges(ctx, asked)
    const pendingBefore = await ctx.engine.v3Follows.states(
      asked.map((p) => ({ source: p.source.id, target: p.target.id })),
    )
    const existed = new Set([
      ...before.map((r) => pairKey(r.source, r.target)),
      ...[...pendingBefore].filter(([, s]) => s.status === 'pending').map(([k]) => k),
    ])
    const states = await follow(ctx, caller, requests)
    const shown = await followResponses(ctx, states, caller)
    const created = shown.filter((f) => !existed.has(pairKey(f.source_feed.feed, f.target_feed.feed)))
    announce('feeds.follow.created', created)
    return { follows: shown, created }
  }
  v3route(edge, 'POST', '/feeds/follows/batch', async ({ caller, body }) => batch(caller, body), 201)
  v3route(edge, 'POST', '/feeds/follows/batch/upsert', async ({ caller, body }) => batch(caller, body), 201)

  /** Removes a follow (or withdraws a request); undefined when there was none. */
  const unfollow = async (
    caller: Caller,
    body: { source?: unknown; target?: unknown },
    keepHistory: boolean,
  ) => {
    const pair = pairOf(ctx, body)
    const feeds = await loadFeeds(ctx, [pair.source, pair.target])
    requireOwner(caller, known(feeds, pair.source.id))
    const removed = await ctx.engine.v3Follows.remove(pair.source, pair.target, keepHistory)
    if (!removed) return undefined
    // Shown after the removal, so the feeds' follow counts are the new ones.
    const [shown] = await followResponses(ctx, [removed], caller)
    announce('feeds.follow.deleted', [shown])
    return shown
  }
  const unfollowOne = async (caller: Caller, body: { source?: unknown; target?: unknown }, keep: boolean) => {
    const shown = await unfollow(caller, body, keep)
    if (!shown) throw notFound(`${String(body.source)} does not follow ${String(body.target)}`)
    return { follow: shown }
  }
  v3route(edge, 'DELETE', '/feeds/follows/:source/:target', async ({ caller, params, query }) =>
    unfollowOne(caller, params, query.keep_history === 'true'),
  )
  v3route(edge, 'POST', '/feeds/unfollow/upsert', async ({ caller, body }) =>
    unfollowOne(caller, body, body.keep_history === true),
  )

  v3route(edge, 'POST', '/feeds/unfollow/batch/upsert', async ({ caller, body }) => {
    const list = body.follows
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FOLLOWS)
      throw inputError(`follows must list 1 to ${MAX_FOLLOWS} { source, target }`, list, 'follows')
    const follows: FollowResponse[] = []
    // getOrCreate: a pair that is not followed (any more) is skipped, not an error.
    for (const item of list as { source?: unknown; target?: unknown; keep_history?: unknown }[]) {
      const shown = await unfollow(caller, item ?? {}, item?.keep_history === true)
      if (shown) follows.push(shown)
    }
    return { follows }
  })

  // UnfollowBatch (the app's, as the spec says): every pair must be followed, checked before any goes.
  v3route(
    edge,
    'POST',
    '/feeds/unfollow/batch',
    async ({ caller, body }) => {
      requireApp(caller)
      const list = body.follows
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FOLLOWS)
        throw inputError(`follows must list 1 to ${MAX_FOLLOWS} { source, target }`, list, 'follows')
      const pairs = list.map((item: { source?: unknown; target?: unknown; keep_history?: unknown }, i) => ({
        ...pairOf(ctx, item ?? {}, `follows[${i}].`),
        keepHistory: item?.keep_history === true,
      }))
      const keys = new Set(pairs.map((p) => pairKey(p.source.id, p.target.id)))
      if (keys.size < pairs.length) throw inputError('follows names a pair twice', list, 'follows')
      const removed = await ctx.engine.v3Follows.removeMany(pairs)
      const follows = await followResponses(
        ctx,
        removed,
        body.enrich_own_fields === true ? caller : undefined,
      )
      announce('feeds.follow.deleted', follows)
      return { follows }
    },
    201,
  )

  // Answering requests: only the followed feed's owner (or the app).
  const answer = async (caller: Caller, body: Record<string, unknown>, accept: boolean) => {
    const pair = pairOf(ctx, body)
    const feeds = await loadFeeds(ctx, [pair.source, pair.target])
    requireTargetOwner(caller, known(feeds, pair.target.id))
    let role: string | undefined
    if (accept && body.follower_role !== undefined) role = followExtras(body).follower_role
    const state = accept
      ? await ctx.engine.v3Follows.accept(pair.source, pair.target, role)
      : await ctx.engine.v3Follows.reject(pair.source, pair.target)
    const [shown] = await followResponses(ctx, [state], caller)
    announce('feeds.follow.updated', [shown])
    return { follow: shown }
  }
  v3route(edge, 'POST', '/feeds/follows/accept', async ({ caller, body }) => answer(caller, body, true), 201)
  v3route(edge, 'POST', '/feeds/follows/reject', async ({ caller, body }) => answer(caller, body, false), 201)

  v3route(edge, 'PATCH', '/feeds/follows', async ({ caller, body }) => {
    const pair = pairOf(ctx, body)
    const feeds = await loadFeeds(ctx, [pair.source, pair.target])
    requireOwner(caller, known(feeds, pair.source.id))
    const extras = followExtras(body)
    // A status change is an answer, which only the followed feed's owner gives (accept/reject).
    if (body.status !== undefined && caller.kind !== 'server')
      throw inputError('status changes through AcceptFollow and RejectFollow', body.status, 'status')
    let state = await ctx.engine.v3Follows.update(pair.source, pair.target, extras)
    if (body.status === 'accepted' && state.status !== 'accepted')
      state = await ctx.engine.v3Follows.accept(pair.source, pair.target)
    else if (body.status === 'rejected' && state.status !== 'rejected')
      state = await ctx.engine.v3Follows.reject(pair.source, pair.target)
    const [shown] = await followResponses(ctx, [state], caller)
    announce('feeds.follow.updated', [shown])
    return { follow: shown }
  })

  v3route(edge, 'POST', '/feeds/follows/query', async ({ caller, body }) => {
    const filter = (body.filter ?? {}) as Record<string, unknown>
    const pick = (key: string): string[] | undefined => {
      const v = filter[key]
      if (typeof v === 'string') return [v]
      if (v && typeof v === 'object') {
        const op = v as { $eq?: unknown; $in?: unknown }
        if (typeof op.$eq === 'string') return [op.$eq]
        if (Array.isArray(op.$in) && op.$in.length <= MAX_QUERY && op.$in.every((x) => typeof x === 'string'))
          return op.$in as string[]
      }
      if (v !== undefined) throw inputError(`filter.${key} must be a feed id, $eq or $in`, v, `filter.${key}`)
      return undefined
    }
    const source = pick('source_feed')
    const target = pick('target_feed')
    const status = filter.status === undefined ? undefined : (pick('status') ?? [])
    const limit = body.limit ?? 25
    if (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > MAX_QUERY)
      throw inputError(`limit must be an integer from 0 to ${MAX_QUERY}`, limit, 'limit')
    // A feed's follows are its data: listed only to those who may see the feed (its visibility).
    const requireViewable = async (ref: FeedRef) => {
      const feed = known(await loadFeeds(ctx, [ref]), ref.id)
      if (!canView(accessVisibility(feed), await standing(ctx, caller, feed))) throw notAllowed()
    }
    let states: FollowState[]
    if (source?.length === 1) {
      const ref = feedOf(ctx, source[0], 'filter.source_feed')
      await requireViewable(ref)
      const rows = await ctx.engine.follows(ref, 'following', { limit, filter: target ?? [] })
      states = await withStates(ctx, rows)
      if (target && status?.includes('pending')) {
        const asked = await ctx.engine.v3Follows.states(target.map((t) => ({ source: ref.id, target: t })))
        states.push(...[...asked.values()].filter((s) => s.status === 'pending'))
      }
    } else if (target?.length === 1) {
      const ref = feedOf(ctx, target[0], 'filter.target_feed')
      await requireViewable(ref)
      states =
        status?.length === 1 && status[0] === 'pending'
          ? []
          : await withStates(ctx, await ctx.engine.follows(ref, 'followers', { limit }))
      if (status?.includes('pending')) {
        // Who asked to follow a feed is its owner's business.
        requireTargetOwner(caller, known(await loadFeeds(ctx, [ref]), ref.id))
        states.push(...(await ctx.engine.v3Follows.pending(ref.id, limit as number)))
      }
    } else throw inputError('filter must name one source_feed or one target_feed', filter, 'filter')
    if (status) states = states.filter((s) => status.includes(s.status))
    states = states.slice(0, limit as number)
    const visible = await loadFeeds(
      ctx,
      states.flatMap((r) => [feedOf(ctx, r.source, 'source'), feedOf(ctx, r.target, 'target')]),
    )
    if (caller.kind !== 'server')
      for (const f of visible.values())
        if (
          accessVisibility(f) === 'private' &&
          !(caller.kind === 'user' && caller.userId === f.data.created_by)
        )
          throw notAllowed()
    return { follows: await followResponses(ctx, states, caller) }
  })
}
