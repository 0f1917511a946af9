/**
 * V3 feed batches: CreateFeedsBatch (the app, or a user creating its own feeds, by GetOrCreate's
 * rule in feed-writes.ts) and DeleteFeedsBatch (the app only, as the spec says). Each batch is
 * checked whole before anything is written, so a bad entry changes nothing. CreateFeedsBatch is
 * get-or-create per feed (a feed that exists is answered as it is, so a retried batch completes);
 * DeleteFeedsBatch needs every feed to exist and is all or nothing: when one feed changed
 * meanwhile, the feeds it already deleted are put back and the call answers 409.
 */
import { requireId } from '../engine/documents.js'
import { inputError, notFound } from '../engine/errors.js'
import { canView } from '../engine/v3-access.js'
import { memberInputs } from '../engine/v3-member-model.js'
import type { ServerContext } from '../server/context.js'
import { conflict, notAllowed } from '../server/errors.js'
import { notSupported } from './errors.js'
import { createPlanned, planDelete, planFeed, softDelete, undoDelete } from './feed-writes.js'
import {
  accessVisibility,
  feedOf,
  feedRefOf,
  feedResponses,
  loadFeeds,
  standing,
  type V3Feed,
} from './feeds.js'
import type { CreateFeedsBatchRequest, FeedRequest } from './gen/spec.js'
import { actingUser, type Caller, type Edge, requireApp, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'

/** Most feeds one batch may create or delete (the spec allows 1,000 creations; each is its own write here). */
export const MAX_BATCH_FEEDS = 100

/** A batch's list, checked: 1 to {@link MAX_BATCH_FEEDS} entries. */
function batchOf<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH_FEEDS)
    throw inputError(`feeds must list 1 to ${MAX_BATCH_FEEDS} ${what}`, value, 'feeds')
  return value as T[]
}

/** Refuses a batch naming one feed twice (its entries would race each other). */
function requireDistinct(fids: string[]): void {
  const seen = new Set<string>()
  for (const [i, fid] of fids.entries()) {
    if (seen.has(fid)) throw inputError(`feeds names ${fid} twice`, fid, `feeds[${i}]`)
    seen.add(fid)
  }
}

/**
 * The creator of a batch entry: a user token creates as itself; the app names `created_by_id`, or
 * the feed is owned by the user its id names (as a feed V1 wrote to is).
 */
function creatorOf(caller: Caller, entry: FeedRequest, i: number, feedUser: string): string {
  const user = actingUser(caller)
  const named = entry.created_by_id
  if (user !== undefined) {
    if (named !== undefined && named !== user) throw notAllowed()
    return user
  }
  return named === undefined ? feedUser : requireId(named, `feeds[${i}].created_by_id`)
}

/** Creates the feeds of a CreateFeedsBatch body; the feeds in order, and those this call made. */
async function createFeeds(ctx: ServerContext, caller: Caller, body: CreateFeedsBatchRequest) {
  const entries = batchOf<FeedRequest>(body.feeds, 'feeds to create')
  const checked = entries.map((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw inputError('a feed must be { feed_group_id, feed_id, ... }', entry, `feeds[${i}]`)
    const group = requireId(entry.feed_group_id, `feeds[${i}].feed_group_id`)
    const ref = feedRefOf(
      ctx,
      group,
      requireId(entry.feed_id, `feeds[${i}].feed_id`),
      `feeds[${i}].feed_group_id`,
    )
    const { feed_group_id: _, feed_id: __, created_by_id: ___, members, ...data } = entry
    return { ref, entry, data, members: memberInputs(members) }
  })
  requireDistinct(checked.map((c) => c.ref.id))
  const plans = []
  for (const [i, c] of checked.entries()) {
    const plan = await planFeed(ctx, caller, c.ref, () => creatorOf(caller, c.entry, i, c.ref.userId), c.data)
    // A feed that exists is answered as it is: only to a caller who may see it.
    if (!plan.data && !canView(accessVisibility(plan.feed), await standing(ctx, caller, plan.feed)))
      throw notAllowed()
    plans.push(plan)
  }
  const made: V3Feed[] = []
  const feeds: V3Feed[] = []
  for (const [i, plan] of plans.entries()) {
    const { feed, created } = await createPlanned(ctx, plan, true)
    if (created && checked[i].members.length > 0)
      await ctx.engine.v3Members.update(feed.fid, 'upsert', checked[i].members)
    feeds.push(feed)
    if (created) made.push(feed)
  }
  return { feeds, made }
}

/** Registers the V3 feed batch routes. */
export function feedBatchRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge

  v3route(
    edge,
    'POST',
    '/feeds/feeds/batch',
    async ({ caller, body }) => {
      const input = body as unknown as CreateFeedsBatchRequest
      const { feeds, made } = await createFeeds(ctx, caller, input)
      const shown = await feedResponses(ctx, feeds, input.enrich_own_fields === true ? caller : undefined)
      const byFid = new Map(feeds.map((f, i) => [f.fid, shown[i]]))
      for (const f of made)
        hub.publish(f.fid, [v3Event('feeds.feed.created', { fid: f.fid, feed: known(byFid, f.fid) })])
      return { feeds: shown }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/feeds/feeds/delete',
    async ({ caller, body }) => {
      requireApp(caller)
      const fids = batchOf<unknown>(body.feeds, 'feed ids like user:alice')
      if (body.hard_delete === true || body.purge_user_activities === true) {
        if (body.hard_delete !== true)
          throw inputError(
            'purge_user_activities needs hard_delete',
            body.purge_user_activities,
            'purge_user_activities',
          )
        throw notSupported('hard deletion of feeds (soft delete is)')
      }
      const refs = fids.map((fid, i) => feedOf(ctx, fid, `feeds[${i}]`))
      requireDistinct(refs.map((r) => r.id))
      const loaded = await loadFeeds(ctx, refs)
      // Every feed must exist before any is deleted.
      const before = refs.map((ref) => {
        const feed = known(loaded, ref.id)
        if (!feed.doc || feed.data.deleted_at) throw notFound(`feed ${ref.id} does not exist`)
        planDelete(caller, feed)
        return feed
      })
      const done: [V3Feed, V3Feed][] = []
      for (const feed of before) {
        const deleted = await softDelete(ctx, feed)
        if (!deleted) {
          // All or nothing: put back what this batch deleted, newest first.
          for (const [was, now] of done.toReversed()) await undoDelete(ctx, was, now)
          throw conflict(`feed ${feed.fid} changed meanwhile; nothing was deleted, retry`)
        }
        done.push([feed, deleted])
      }
      for (const feed of before) hub.publish(feed.fid, [v3Event('feeds.feed.deleted', { fid: feed.fid })])
      const task_id = crypto.randomUUID()
      await ctx.engine.v3.putTask(task_id, 'delete-feeds', { deleted_feeds: before.map((f) => f.fid) })
      return { task_id }
    },
    201,
  )
}
