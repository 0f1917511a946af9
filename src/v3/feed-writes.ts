/**
 * Creating and deleting V3 feeds, one rule for GetOrCreateFeed, DeleteFeed and their batches
 * (feed-batches.ts): who may create a feed (the user its id names, or anyone while the engine holds
 * nothing for it; the app for anyone), the data it starts with (its group's default visibility
 * unless it names one), and the soft delete that keeps its activities.
 */
import type { FeedRef } from '../engine/feed-groups.js'
import type { ServerContext } from '../server/context.js'
import { conflict, notAllowed } from '../server/errors.js'
import { defaultVisibility } from './feed-groups.js'
import { type FeedData, feedData, loadFeed, requireExisting, requireOwner, type V3Feed } from './feeds.js'
import type { FeedInput } from './gen/spec.js'
import type { Caller } from './http.js'

/** Whether the engine holds nothing for a feed yet: no activities (flat), no followers, no followings. */
async function isEmpty(ctx: ServerContext, ref: FeedRef): Promise<boolean> {
  const [rows, stats] = await Promise.all([
    ref.group.kind === 'flat' ? ctx.engine.readFeed(ref, { limit: 1 }).then((p) => p.results) : [],
    ctx.engine.followStats(ref),
  ])
  return rows.length === 0 && stats.followers === 0 && stats.following === 0
}

/** A feed to create: its engine feed, the user who will own it, and its validated starting data. */
export interface FeedPlan {
  feed: V3Feed
  data?: FeedData
}

/**
 * Checks that `caller` may create `ref` owned by `ownerOf()` with `input`, before anything is
 * written: a feed that exists (and is not deleted) needs no data; one with no V3 data yet belongs
 * to the user its id names, so another user may create it only while the engine holds nothing for
 * it (the app may always).
 */
export async function planFeed(
  ctx: ServerContext,
  caller: Caller,
  ref: FeedRef,
  ownerOf: () => string | undefined,
  input: FeedInput | undefined,
): Promise<FeedPlan> {
  const feed = await loadFeed(ctx, ref)
  if (feed.doc && !feed.data.deleted_at) return { feed }
  const owner = ownerOf()
  if (owner === undefined) throw notAllowed()
  if (!feed.doc && owner !== ref.userId && caller.kind !== 'server' && !(await isEmpty(ctx, ref)))
    throw notAllowed()
  const data = feedData(input, owner)
  // A feed group may give its feeds another starting visibility.
  if (input?.visibility === undefined)
    data.visibility = (await defaultVisibility(ctx, ref.slug)) ?? data.visibility
  return { feed, data }
}

/**
 * Writes a planned feed's data: an insert, or the revival of a deleted feed's data only if
 * unchanged since the plan read it, so a concurrent create wins once. Resolves with the feed and
 * whether this call made it; a lost race answers the feed as the winner made it when `tolerant`.
 */
export async function createPlanned(
  ctx: ServerContext,
  plan: FeedPlan,
  tolerant = false,
): Promise<{ feed: V3Feed; created: boolean }> {
  const { feed, data } = plan
  if (!data) return { feed, created: false }
  const doc = await ctx.engine.v3.putFeed(
    feed.fid,
    data as unknown as Record<string, unknown>,
    feed.doc ? 'update' : 'insert',
    feed.doc?.updatedAt,
  )
  if (doc) return { feed: { ...feed, data, doc }, created: true }
  if (!tolerant) throw conflict(`feed ${feed.fid} was created meanwhile; retry`)
  const now = await loadFeed(ctx, feed.ref)
  if (!now.doc || now.data.deleted_at) throw conflict(`feed ${feed.fid} changed meanwhile; retry`)
  return { feed: now, created: false }
}

/** Checks that `caller` may delete `feed` (its owner or the app) and that it exists; its current data. */
export function planDelete(caller: Caller, feed: V3Feed): FeedData {
  requireExisting(feed)
  requireOwner(caller, feed)
  return feed.data
}

/**
 * Soft-deletes a feed: its data is kept with `deleted_at` (V3's soft delete) and its activities
 * stay in the engine. A versioned write: undefined when the feed changed since it was loaded.
 */
export async function softDelete(ctx: ServerContext, feed: V3Feed): Promise<V3Feed | undefined> {
  const doc = requireExisting(feed)
  const data: FeedData = { ...feed.data, deleted_at: new Date().toISOString() }
  const written = await ctx.engine.v3.putFeed(
    feed.fid,
    data as unknown as Record<string, unknown>,
    'update',
    doc.updatedAt,
  )
  return written ? { ...feed, data, doc: written } : undefined
}

/** Puts a feed's data back as it was before a soft delete this request made (undoing a batch). */
export async function undoDelete(ctx: ServerContext, before: V3Feed, deleted: V3Feed): Promise<void> {
  const written = await ctx.engine.v3.putFeed(
    before.fid,
    before.data as unknown as Record<string, unknown>,
    'update',
    deleted.doc?.updatedAt,
  )
  if (!written) throw conflict(`feed ${before.fid} changed while its batch was undone; check it`)
}
