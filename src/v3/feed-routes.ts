/**
 * V3 feed routes: getOrCreate (the feed's data, a page of its activities with `next`/`prev`
 * cursors, its followers and followings, own capabilities; `watch` subscribes the caller's
 * WebSocket), update, delete, and stop watching.
 */

import { requireId } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import type { FeedPage } from '../engine/read.js'
import { activityShown } from '../engine/v3-access.js'
import { conflict, notAllowed } from '../server/errors.js'
import { activityResponses, writer } from './activities.js'
import { actorId } from './activity-model.js'
import { addCurrentFeeds, memberResponses, pinResponses } from './feed-extras.js'
import { queryFeeds } from './feed-query.js'
import { createPlanned, planDelete, planFeed, softDelete } from './feed-writes.js'
import {
  applyFeedChanges,
  type FeedData,
  type FeedFacts,
  feedRefOf,
  feedResponses,
  loadFeed,
  mayRead,
  requireExisting,
  requireOwner,
} from './feeds.js'
import { requireFilter } from './filter.js'
import { followResponses, ownFollows } from './follows.js'
import type { GetOrCreateFeedRequest, QueryFeedsRequest } from './gen/spec.js'
import { type Caller, type Edge, JsonHead, type V3Call, v3route } from './http.js'
import type { Hub } from './hub.js'
import { v3Event, watcherOf } from './hub.js'
import { groupedPage } from './notifications.js'
import { usersById } from './users.js'

/** Default and largest page of activities. */
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100
/** Members a feed read shows (QueryFeedMembers pages through the rest). */
const MEMBERS_SHOWN = 25

/** A V3 cursor: the engine id to read below (`next`) or above (`prev`), opaque to clients. */
function cursor(direction: 'lt' | 'gt', id: string): string {
  return Buffer.from(JSON.stringify({ [direction]: id })).toString('base64url')
}
function readCursor(value: unknown, field: string): { lt?: string; gt?: string } {
  if (typeof value !== 'string' || value.length > 200)
    throw inputError(`${field} must be a cursor from a previous page`, value, field)
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString())
    if (parsed && (typeof parsed.lt === 'string' || typeof parsed.gt === 'string')) return parsed
  } catch {}
  throw inputError(`${field} must be a cursor from a previous page`, value, field)
}

/**
 * The page cache's key of a feed read: who reads (own fields, capabilities and visibility depend
 * on it), the feed, and every field of the body but `watch` (which changes no byte of the answer).
 */
function pageKey(caller: Caller, fid: string, input: GetOrCreateFeedRequest): string {
  const who = caller.kind === 'user' ? `user:${caller.userId}` : caller.kind
  return `${who}|${fid}|${JSON.stringify({ ...input, watch: undefined })}`
}

/** Registers the V3 feed routes. */
export function feedRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const path = '/feeds/feed_groups/:feed_group_id/feeds/:feed_id'
  /** Subscribes the caller's WebSocket to `fid` when the read asks to watch it. */
  const watchIfAsked = (
    caller: Caller,
    query: V3Call['query'],
    input: GetOrCreateFeedRequest,
    fid: string,
  ) => {
    if (input.watch !== true) return
    const connectionId = query.connection_id
    if (typeof connectionId !== 'string' || connectionId === '')
      throw inputError('watch needs the connection_id of an open WebSocket', connectionId, 'connection_id')
    hub.watch(connectionId, watcherOf(caller), fid)
  }

  v3route(
    edge,
    'POST',
    path,
    async ({ caller, params, query, body, reply }) => {
      const input = body as GetOrCreateFeedRequest
      const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
      // This caller's same read, cached while nothing was written anywhere since (a version taken
      // before every read below; none on stores whose version misses some writes: page-cache.ts).
      const cache = ctx.v3Pages
      const version = cache ? await cache.version(ref.id) : undefined
      const key = version === undefined ? '' : pageKey(caller, ref.id, input)
      const cached = version === undefined ? undefined : cache?.get(ref.id, key, version)
      if (cached !== undefined) {
        watchIfAsked(caller, query, input, ref.id)
        reply.status(200)
        return new JsonHead(cached)
      }
      // The creator is asked for only when the feed is to be made (a read names no user).
      const owner = () => (caller.kind === 'anonymous' ? undefined : writer(caller, body))
      const { feed, created } = await createPlanned(ctx, await planFeed(ctx, caller, ref, owner, input.data))
      const user = caller.kind === 'user' ? caller.userId : undefined
      // The reader's own follows of the feed and membership in it: what own_follows and
      // own_membership show, and what the feed's visibility level lets it read (v3-access.ts).
      const [own, members, pins] = await Promise.all([
        user === undefined ? [] : ownFollows(ctx, user, ref),
        ctx.engine.v3Members.members([ref.id]).then((m) => m.get(ref.id) ?? []),
        ctx.engine.v3Pins.pins([ref.id]).then((p) => p.get(ref.id) ?? []),
      ])
      const follower = own.some((f) => f.status === 'accepted')
      const membership = members.find((m) => m.user_id === user)
      if (!mayRead(caller, feed, follower, membership?.status === 'member')) throw notAllowed()

      const limit = input.limit ?? DEFAULT_LIMIT
      if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
        throw inputError(`limit must be an integer from 0 to ${MAX_LIMIT}`, limit, 'limit')
      const options: Record<string, unknown> = { limit: limit + 1 }
      if (input.next !== undefined) options.id_lt = readCursor(input.next, 'next').lt
      if (input.prev !== undefined) options.id_gt = readCursor(input.prev, 'prev').gt
      const grouped = ref.group.kind !== 'flat'
      // A flat read's `filter` keeps the page's matching activities, by the grouped reads' rule (filter.ts).
      const keep = grouped || input.filter === undefined ? undefined : requireFilter(input.filter)
      const page: FeedPage =
        limit === 0 || grouped ? { results: [] } : await ctx.engine.readFeed(ref, options)
      const rows = grouped ? [] : page.results
      const more = rows.length > limit
      const shown = rows.slice(0, limit) as never[]
      // Activities a reader may not see (private ones of others) are left out of the page.
      const visible = shown.filter((a: { visibility?: unknown; actor: string }) =>
        activityShown(a, { app: caller.kind === 'server', user }),
      )
      const membersShown = members.slice(0, MEMBERS_SHOWN)
      // What the feed's response, its activities and members show of users and follow counts,
      // read once and shared (the feed shows in its activities' current_feed too).
      const [users, stats] = await Promise.all([
        usersById(ctx, [
          feed.data.created_by,
          ...visible.map(actorId),
          ...membersShown.map((m) => m.user_id),
          ...(membership ? [membership.user_id] : []),
        ]),
        ctx.engine.followStats(ref),
      ])
      const facts: FeedFacts = {
        members: new Map([[ref.id, members]]),
        pins: new Map([[ref.id, pins]]),
        stats: new Map([[ref.id, stats]]),
        users,
      }
      const all = await activityResponses(ctx, visible, ref.id, user, users)
      if (input.enrichment_options?.skip_activity_current_feed !== true)
        await addCurrentFeeds(ctx, visible, all, ref.id, caller, { feed, facts })
      const activities = keep ? all.filter(keep) : all
      const [shownFeed] = await feedResponses(
        ctx,
        [feed],
        caller,
        follower ? new Set([ref.id]) : undefined,
        facts,
      )
      if (user !== undefined) shownFeed.own_follows = await followResponses(ctx, own)
      if (membership) shownFeed.own_membership = (await memberResponses(ctx, [membership], users))[0]
      const response: Record<string, unknown> = {
        created,
        feed: shownFeed,
        activities,
        aggregated_activities: [],
        followers: await followResponses(
          ctx,
          await ctx.engine.follows(ref, 'followers', { limit: 10 }),
          caller,
        ),
        following: await followResponses(
          ctx,
          await ctx.engine.follows(ref, 'following', { limit: 10 }),
          caller,
        ),
        members: await memberResponses(ctx, membersShown, users),
        pinned_activities: await pinResponses(ctx, ref.id, pins, caller),
      }
      let last = (shown.at(-1) as { id?: string } | undefined)?.id
      let first = (shown[0] as { id?: string } | undefined)?.id
      let hasMore = more
      if (grouped) {
        // Aggregated and notification feeds: pages of groups (notifications.ts).
        const {
          more: groupsMore,
          first: top,
          last: bottom,
          ...fields
        } = await groupedPage(ctx, caller, feed, {
          limit,
          lt: options.id_lt as string | undefined,
          gt: options.id_gt as string | undefined,
          filter: input.filter,
        })
        Object.assign(response, fields)
        ;[hasMore, first, last] = [groupsMore, top, bottom]
      }
      if (hasMore && last) response.next = cursor('lt', last)
      if ((input.next !== undefined || input.prev !== undefined) && first) response.prev = cursor('gt', first)
      watchIfAsked(caller, query, input, ref.id)
      // After the watch, so a creator that watches the new feed hears of it too.
      if (created)
        hub.publish(ref.id, [
          v3Event('feeds.feed.created', { fid: ref.id, feed: (await feedResponses(ctx, [feed]))[0] }),
        ])
      reply.status(created ? 201 : 200)
      // A read that created its feed wrote: the next read sees a new version anyway.
      if (created || version === undefined || !cache) return response
      const head = JSON.stringify(response).slice(0, -1)
      cache.set(ref.id, key, version, head)
      return new JsonHead(head)
    },
    201,
  )

  v3route(edge, 'POST', '/feeds/feeds/query', async ({ caller, body, query }) => {
    const input = body as QueryFeedsRequest
    const connectionId = query.connection_id
    if (input.watch === true && (typeof connectionId !== 'string' || connectionId === ''))
      throw inputError('watch needs the connection_id of an open WebSocket', connectionId, 'connection_id')
    const answer = await queryFeeds(ctx, caller, input)
    // Watching answers only the feeds the caller may see, as GetOrCreate's watch does.
    if (input.watch === true)
      for (const f of answer.feeds) hub.watch(connectionId as string, watcherOf(caller), f.feed)
    return answer
  })

  v3route(edge, 'PUT', path, async ({ caller, params, body }) => {
    const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
    const feed = await loadFeed(ctx, ref)
    const doc = requireExisting(feed)
    requireOwner(caller, feed)
    const data: FeedData = { ...feed.data }
    applyFeedChanges(data, body, 'body')
    const written = await ctx.engine.v3.putFeed(
      ref.id,
      data as unknown as Record<string, unknown>,
      'update',
      doc.updatedAt,
    )
    if (!written) throw conflict(`feed ${ref.id} changed meanwhile; retry`)
    const [shown] = await feedResponses(ctx, [{ ...feed, data, doc: written }], caller)
    hub.publish(ref.id, [v3Event('feeds.feed.updated', { fid: ref.id, feed: shown })])
    return { feed: shown }
  })

  v3route(edge, 'DELETE', path, async ({ caller, params }) => {
    const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
    const feed = await loadFeed(ctx, ref)
    planDelete(caller, feed)
    if (!(await softDelete(ctx, feed))) throw conflict(`feed ${ref.id} changed meanwhile; retry`)
    hub.publish(ref.id, [v3Event('feeds.feed.deleted', { fid: ref.id })])
    return { task_id: crypto.randomUUID() }
  })

  v3route(edge, 'DELETE', `${path}/watch`, async ({ caller, params, query }) => {
    const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
    const connectionId = query.connection_id
    if (typeof connectionId === 'string' && connectionId !== '')
      hub.watch(connectionId, watcherOf(caller), ref.id, false)
    return {}
  })
}
