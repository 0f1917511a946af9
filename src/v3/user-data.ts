/**
 * V3's ExportFeedUserData and DeleteFeedUserData on the engine: one user's feeds data, gathered
 * (or deleted) before the answer, the outcome kept as the result of the task it returns (GetTask
 * reads it; Stream hands out a file for an export). The engine keeps activities per feed and
 * reactions per user, so "the user's data" is: its profile; its feeds (`<group>:<user id>` of
 * every feed group, and the V3 feeds it created) with their activities and follows; its reactions
 * (comments, likes, bookmarks...); its bookmark folders. Every part is bounded, and the result
 * says where it stopped.
 */
import type { Activity } from '../engine/activity.js'
import { EddyError, inputError, notFound } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { requireSk } from '../engine/ids.js'
import type { ServerContext } from '../server/context.js'
import { activityResponses } from './activities.js'
import { type Edge, requireApp, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
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

/** Most reactions, activities and follows one DeleteFeedUserData call removes; the task says whether it finished. */
const MAX_DELETES = 10_000

/**
 * Deletes `userId`'s feeds data: its reactions, comments and bookmarks (and the replies under its
 * comments), its bookmark folders, every activity of its flat feeds (from their followers too),
 * its feeds' follows both ways, and marks its V3 feed records deleted. Resolves with counts and
 * whether everything went (false when a bound stopped it: call again for the rest).
 */
async function deleteUserData(
  ctx: ServerContext,
  hub: Hub,
  userId: string,
): Promise<Record<string, unknown>> {
  const [doc] = await ctx.engine.users.lookup([userId])
  if (!doc) throw notFound(`user ${userId} does not exist`)
  const deleted = { reactions: 0, bookmark_folders: 0, activities: 0, follows: 0, feeds: 0 }
  let budget = MAX_DELETES
  // Reactions first: always the newest page, as each delete takes its reaction out of the index.
  while (budget > 0) {
    const page = await ctx.engine.reactions.filter({ user_id: userId, limit: 25 }, undefined, ID_CURSORS)
    if (page.results.length === 0) break
    for (const r of page.results) {
      // A reply under a comment deleted a moment ago went with it: gone is done.
      await ctx.engine.reactions.delete(r.id, false).catch((err: unknown) => {
        if (!(err instanceof EddyError && err.code === 16)) throw err
      })
      deleted.reactions++
      budget--
    }
  }
  for (const folder of await ctx.engine.v3.folders.list(userId)) {
    await ctx.engine.v3.folders.delete(userId, folder.id)
    deleted.bookmark_folders++
  }
  for (const ref of await userFeeds(ctx, userId)) {
    if (ref.group.kind === 'flat') {
      while (budget > 0) {
        const rows = (await ctx.engine.readFeed(ref, { limit: 100 })).results as Activity[]
        if (rows.length === 0) break
        await ctx.engine.removeActivities(
          ref,
          rows.map((a) => requireSk(a.id, 'id')),
        )
        for (const a of rows) if (typeof a.v3_id === 'string') await ctx.engine.v3.releaseActivityId(a.v3_id)
        deleted.activities += rows.length
        budget -= rows.length
      }
    }
    for (const direction of ['following', 'followers'] as const) {
      while (budget > 0) {
        const rows = await ctx.engine.follows(ref, direction, { limit: 100 })
        if (rows.length === 0) break
        for (const row of rows) {
          const source = ctx.engine.parseFeed(row.source)
          const target = ctx.engine.parseFeed(row.target)
          await ctx.engine.v3Follows.remove(source, target, false)
          deleted.follows++
          budget--
        }
      }
    }
    const [record] = await ctx.engine.v3.feeds([ref.id])
    if (record && record.data.created_by === userId && record.data.deleted_at === undefined) {
      const data = { ...record.data, deleted_at: new Date().toISOString() }
      if (await ctx.engine.v3.putFeed(ref.id, data, 'update', record.updatedAt)) {
        hub.publish(ref.id, [v3Event('feeds.feed.deleted', { fid: ref.id })])
        deleted.feeds++
      }
    }
  }
  return { user_id: userId, deleted, complete: budget > 0 }
}

/** Registers ExportFeedUserData and DeleteFeedUserData (the app's token only). */
export function userDataRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/users/:user_id/delete',
    async ({ caller, params, body }) => {
      requireApp(caller)
      const hard = body.hard_delete
      if (hard !== undefined && typeof hard !== 'boolean')
        throw inputError('hard_delete must be a boolean', hard, 'hard_delete')
      const result = await deleteUserData(ctx, hub, params.user_id)
      const task_id = crypto.randomUUID()
      await ctx.engine.v3.putTask(task_id, 'delete-feed-user-data', result)
      return { task_id }
    },
    201,
  )
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
