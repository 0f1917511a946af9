/**
 * Feed writes: adding activities to a feed (with its `to` targets and fan-out), removing them,
 * adding one activity to many feeds, and replacing stored bodies. Each is one store write through
 * the context's write path; the ones that check what is stored first are optimistic steps.
 */
import type { EntryRemove, EntryWrite, FanoutJob, WriteBatch } from '../store/store.js'
import { type Activity, type PreparedActivity, prepareActivity } from './activity.js'
import { actorUser, auditEntry } from './audit.js'
import { checkText } from './bounds.js'
import type { EngineContext, StoredActivity } from './context.js'
import { inputError } from './errors.js'
import { entryFor, shapesFor } from './fanout.js'
import type { FeedRef } from './feed-groups.js'
import { idToSk, legacySks, randomId, requireSk, skToId } from './ids.js'
import { untilCommitted } from './optimistic.js'
import { requireOwnActivity, userActivityInput } from './policy.js'

/** Most activities one add, update or lookup call may carry. */
export const MAX_BATCH = 100
/** Most feeds `addToMany` may write to. */
export const MAX_ADD_TO_MANY = 5_000

/** Options of {@link addActivities}. */
export interface AddOptions {
  /** This call is one of many concurrent ones, and may share its commit with them (WriteBatch). */
  groupCommit?: boolean
}

/**
 * Adds activities to `feed`, its `to` targets and (through fan-out) their followers. With
 * `user` (a user acting as themself), each activity's actor must be that user, `to` may name
 * only its own or notification feeds, and re-adding a foreign_id + time replaces an activity
 * only if that user wrote it; the check and the write are one optimistic step.
 */
export async function addActivities(
  ctx: EngineContext,
  feed: FeedRef,
  inputs: unknown[],
  user?: string,
  options: AddOptions = {},
): Promise<Activity[]> {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw inputError('activities must be a non-empty list', inputs, 'activities')
  }
  if (inputs.length > MAX_BATCH)
    throw inputError(`at most ${MAX_BATCH} activities per call`, inputs.length, 'activities')
  const checked = user === undefined ? inputs : inputs.map((i) => userActivityInput(ctx.groups, user, i))
  const prepared = checked.map((input, i) =>
    prepareActivity(ctx.groups, input, inputs.length > 1 ? i : undefined),
  )
  const byKey = new Map<string, PreparedActivity>()
  for (const p of prepared) byKey.set(p.sk, p) // a repeated foreign_id + time: the last one wins
  const group = options.groupCommit === true
  if (user === undefined) await addPrepared(ctx, feed, byKey, undefined, user, group)
  else {
    await untilCommitted(async () => {
      const existing = await ctx.loadStored([...byKey.keys()])
      for (const { activity } of existing.values()) requireOwnActivity(activity, user)
      const expect = [...byKey.keys()].map((sk) => ({ sk, body: existing.get(sk)?.body ?? null }))
      await addPrepared(ctx, feed, byKey, expect, user, group)
    })
  }
  return prepared.map((p) => ({ ...p.activity }))
}

async function addPrepared(
  ctx: EngineContext,
  feed: FeedRef,
  byKey: Map<string, PreparedActivity>,
  expect: WriteBatch['expect'],
  user: string | undefined,
  groupCommit: boolean,
): Promise<void> {
  const add: EntryWrite[] = []
  const jobs: FanoutJob[] = []
  for (const p of byKey.values()) {
    const shapes = shapesFor(ctx.groups, p.sk, p.activity)
    add.push(entryFor(feed.group, feed.id, p.sk, p.activity, null))
    jobs.push({ id: randomId(), op: 'add', feed: feed.id, sk: p.sk, shapes, cursor: null })
    for (const target of p.to) {
      if (target.id === feed.id) continue
      add.push(entryFor(target.group, target.id, p.sk, p.activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: target.id, sk: p.sk, shapes, cursor: null })
    }
  }
  await ctx.write(
    {
      expect,
      groupCommit,
      activities: [...byKey.values()].map((p) => ({
        sk: p.sk,
        body: p.body,
        foreignId: p.activity.foreign_id,
      })),
      add,
      audit: ctx.audited(() =>
        [...byKey.values()].map((p) =>
          auditEntry('activity', p.activity.id, 'created', user ?? actorUser(p.activity.actor), {
            feed: feed.id,
          }),
        ),
      ),
    },
    jobs,
  )
}

/**
 * Removes activities from `feed` and, through fan-out, from its followers, in one write.
 * Removing an activity from the feed it was added to also withdraws it from its `to` targets.
 * Activities the feed does not hold are skipped (as on Stream); resolves with how many it held.
 */
export async function removeActivities(
  ctx: EngineContext,
  feed: FeedRef,
  sks: string[],
  user?: string,
): Promise<number> {
  const entries = await ctx.store.timelines.getEntries(feed.id, [...new Set(sks)])
  const held = [...entries].map(([sk, { origin }]) => ({ sk, direct: origin === null }))
  if (held.length === 0) return 0
  // Only activities added here directly can carry `to` targets to withdraw: load just those,
  // and expect them unchanged, so a concurrent `to` change is not withdrawn from stale targets.
  await untilCommitted(async () => {
    const stored = await ctx.loadStored(held.filter((h) => h.direct).map((h) => h.sk))
    await remove(ctx, feed, held, stored, user)
  })
  return held.length
}

async function remove(
  ctx: EngineContext,
  feed: FeedRef,
  held: { sk: string }[],
  stored: Map<string, StoredActivity>,
  user?: string,
): Promise<void> {
  const removes: EntryRemove[] = []
  const jobs: FanoutJob[] = []
  for (const { sk } of held) {
    const to = stored.get(sk)?.activity.to ?? []
    const feeds = to.length > 0 && !to.includes(feed.id) ? [feed.id, ...to] : [feed.id]
    for (const target of feeds) {
      removes.push({ feed: target, sk })
      jobs.push({ id: randomId(), op: 'remove', feed: target, sk, cursor: null })
    }
  }
  const expect = [...stored].map(([sk, { body }]) => ({ sk, body }))
  // Who removed it: the user token's user, else the author when known (a copy's is not loaded).
  const audit = ctx.audited(() =>
    held.map(({ sk }) =>
      auditEntry(
        'activity',
        skToId(sk),
        'removed_from_feed',
        user ?? actorUser(stored.get(sk)?.activity.actor),
        {
          feed: feed.id,
        },
      ),
    ),
  )
  await ctx.write({ expect, remove: removes, audit }, jobs)
}

/** Removes every activity with `foreignId` from `feed`, as {@link removeActivities} does. */
export async function removeByForeignId(
  ctx: EngineContext,
  feed: FeedRef,
  foreignId: string,
  user?: string,
): Promise<number> {
  checkText(foreignId, 'foreign_id')
  return removeActivities(ctx, feed, await ctx.store.activities.findByForeignId(feed.id, foreignId), user)
}

/**
 * Removes the activity with id `id` from `feed`, as {@link removeActivities} does. Also finds
 * activities stored with an id that is not a valid version-1 UUID (times past 2255 before the
 * time range was enforced): their sort key is the id's digits plus the ones the id dropped.
 */
export async function removeById(
  ctx: EngineContext,
  feed: FeedRef,
  id: unknown,
  user?: string,
  field = 'activity id',
): Promise<number> {
  const sk = typeof id === 'string' ? idToSk(id) : undefined
  const removed = sk ? await removeActivities(ctx, feed, [sk], user) : 0
  if (removed > 0) return removed
  const legacy = legacySks(id)
  if (!sk && legacy.length === 0) requireSk(id, field)
  return legacy.length > 0 ? removeActivities(ctx, feed, legacy, user) : 0
}

/** Adds one activity to many feeds directly, without fan-out to their followers. */
export async function addToMany(ctx: EngineContext, input: unknown, feeds: unknown): Promise<Activity> {
  if (!Array.isArray(feeds) || feeds.length === 0)
    throw inputError('feeds must be a non-empty list of feed ids', feeds, 'feeds')
  if (feeds.length > MAX_ADD_TO_MANY)
    throw inputError(`feeds may name at most ${MAX_ADD_TO_MANY} feeds`, feeds.length, 'feeds')
  if (input && typeof input === 'object' && 'to' in input && (input as { to?: unknown }).to !== undefined) {
    throw inputError(
      'addToMany does not accept to; list every feed in feeds',
      (input as { to: unknown }).to,
      'to',
    )
  }
  const p = prepareActivity(ctx.groups, input)
  const refs = new Map<string, FeedRef>()
  for (const f of feeds) {
    const ref = ctx.parseFeed(f, 'feeds')
    refs.set(ref.id, ref)
  }
  const add = [...refs.values()].map((ref) => entryFor(ref.group, ref.id, p.sk, p.activity, null))
  await ctx.store.write({
    activities: [{ sk: p.sk, body: p.body, foreignId: p.activity.foreign_id }],
    add,
    audit: ctx.audited(() => [
      auditEntry('activity', p.activity.id, 'created', actorUser(p.activity.actor), { feeds: refs.size }),
    ]),
  })
  return p.activity
}

/** Replaces stored bodies (same id, same feeds). `to` may not change. */
export async function replaceActivities(ctx: EngineContext, prepared: PreparedActivity[]): Promise<void> {
  await untilCommitted(async () => {
    const existing = await ctx.loadStored(prepared.map((p) => p.sk))
    for (const p of prepared) {
      const old = existing.get(p.sk)?.activity
      // As on Stream, an update of an activity that does not exist creates it (stream-python's
      // suite does so): stored, in no feed, found by getActivities. Its `to` would name feeds it
      // is not in, so a created activity may not have one.
      if (!old && (p.activity.to ?? []).length > 0) {
        throw inputError(
          `an update creates activity foreign_id ${JSON.stringify(p.activity.foreign_id)}, time ${p.activity.time}, which does not exist yet; it cannot have to targets (add it to a feed instead)`,
          p.activity.to,
          'to',
        )
      }
      if (!old) continue
      const before = [...(old.to ?? [])].sort().join(',')
      const after = [...(p.activity.to ?? [])].sort().join(',')
      if (before !== after) {
        throw inputError(
          'to cannot be changed by an update; use updateActivityToTargets',
          p.activity.to ?? [],
          'to',
        )
      }
    }
    await ctx.writeBodies(prepared.map((p) => ({ prepared: p, previous: existing.get(p.sk)?.body ?? null })))
  })
}
