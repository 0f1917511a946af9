/**
 * V3's ExportFeedUserData on the engine: one user's feeds data gathered before the answer and
 * kept as the result of the task it returns (GetTask reads it; Stream hands out a file instead).
 * The engine keeps activities per feed and reactions per user, so "the user's data" is: its
 * profile; its feeds (`<group>:<user id>` of every feed group, and the V3 feeds it created) with
 * their newest activities and what they follow; its reactions (comments, likes, bookmarks...);
 * its bookmark folders. Every part is bounded, and the result says where it stopped.
 */
import type { Activity } from '../engine/activity.js'
import { notFound } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import type { ServerContext } from '../server/context.js'
import { activityResponses } from './activities.js'
import { type Edge, requireApp, v3route } from './http.js'
import { ID_CURSORS } from './reaction-access.js'
import { rfc3339 } from './time.js'
import { userResponse } from './users.js'

/** Newest activities and followings exported per feed. */
const PER_FEED = 100
/** Most reactions exported (read 25 a page, newest first). */
const MAX_REACTIONS = 1_000
/** V3 feed records scanned for those the user created (as QueryFeeds scans). */
const FEED_SCAN = 5_000

/** The user's feeds: `<group>:<id>` of each group that holds anything, and the V3 feeds it created. */
async function userFeeds(ctx: ServerContext, userId: string): Promise<FeedRef[]> {
  const fids = new Set<string>()
  for (const slug of ctx.engine.groups.keys()) fids.add(`${slug}:${userId}`)
  let after: string | undefined
  for (let read = 0; read < FEED_SCAN; ) {
    const page = await ctx.engine.v3.listFeeds(after, Math.min(500, FEED_SCAN - read))
    if (page.length === 0) break
    read += page.length
    after = page[page.length - 1]?.id
    for (const doc of page) if (doc.data.created_by === userId) fids.add(doc.id)
  }
  return [...fids].map((fid) => ctx.engine.parseFeed(fid))
}

/** One feed's part of the export, or undefined for a feed that holds nothing. */
async function feedPart(ctx: ServerContext, ref: FeedRef): Promise<Record<string, unknown> | undefined> {
  const [record] = await ctx.engine.v3.feeds([ref.id])
  const flat = ref.group.kind === 'flat'
  const rows = flat ? ((await ctx.engine.readFeed(ref, { limit: PER_FEED })).results as Activity[]) : []
  const following = await ctx.engine.follows(ref, 'following', { limit: PER_FEED })
  if (!record && rows.length === 0 && following.length === 0) return undefined
  return {
    feed: ref.id,
    ...(record ? { data: record.data } : {}),
    activities: await activityResponses(ctx, rows, ref.id),
    following: following.map((f) => f.target),
  }
}

/** Everything the export holds for `userId` (404 for a user that does not exist). */
async function exportUser(ctx: ServerContext, userId: string): Promise<Record<string, unknown>> {
  const [doc] = await ctx.engine.users.lookup([userId])
  if (!doc) throw notFound(`user ${userId} does not exist`)
  const feeds = []
  for (const ref of await userFeeds(ctx, userId)) {
    const part = await feedPart(ctx, ref)
    if (part) feeds.push(part)
  }
  const reactions = []
  let cursor: string | undefined
  while (reactions.length < MAX_REACTIONS) {
    const page = await ctx.engine.reactions.filter(
      { user_id: userId, limit: 25, ...(cursor ? { id_lt: cursor } : {}) },
      undefined,
      ID_CURSORS,
    )
    for (const r of page.results)
      reactions.push({
        id: r.id,
        kind: r.kind,
        activity_id: r.activity_id,
        parent: r.parent,
        data: r.data,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
      })
    if (!page.next) break
    cursor = page.next
  }
  return {
    user: userResponse(userId, doc, (await ctx.engine.v3.roles([userId])).get(userId)),
    feeds,
    reactions,
    bookmark_folders: await ctx.engine.v3.folders.list(userId),
    // Where a bounded part may have stopped short: newest first, at most these many.
    limits: { activities_per_feed: PER_FEED, following_per_feed: PER_FEED, reactions: MAX_REACTIONS },
  }
}

/** Registers ExportFeedUserData (the app's token only). */
export function userDataRoutes(edge: Edge): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/users/:user_id/export',
    async ({ caller, params }) => {
      requireApp(caller)
      const data = await exportUser(ctx, params.user_id)
      const task_id = crypto.randomUUID()
      await ctx.engine.v3.putTask(task_id, 'export-feed-user-data', { user_id: params.user_id, data })
      return { task_id }
    },
    201,
  )
}
