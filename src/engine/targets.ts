/**
 * Moving a stored activity between feeds: its `to` targets changing (updateToTargets), and the
 * activity that stands for a reaction in the reaction's target feeds (reactions.ts). Each is one
 * write with fan-out to the followers of every feed it enters or leaves.
 */
import type { EntryRemove, EntryWrite, FanoutJob } from '../store/store.js'
import type { Activity, PreparedActivity } from './activity.js'
import { actorUser, auditEntry } from './audit.js'
import type { EngineContext } from './context.js'
import { entryFor, shapesFor } from './fanout.js'
import type { FeedRef } from './feed-groups.js'
import { randomId } from './ids.js'

/**
 * Changes the `to` targets of an activity: adds it to new targets and withdraws it from old,
 * only if its stored text is still `previous` (else WriteConflict, nothing written).
 */
export async function setTargets(
  ctx: EngineContext,
  activity: Activity,
  sk: string,
  added: FeedRef[],
  removed: FeedRef[],
  previous: string,
): Promise<void> {
  const add: EntryWrite[] = []
  const remove: EntryRemove[] = []
  const jobs: FanoutJob[] = []
  const shapes = shapesFor(ctx.groups, sk, activity)
  for (const t of added) {
    add.push(entryFor(t.group, t.id, sk, activity, null))
    jobs.push({ id: randomId(), op: 'add', feed: t.id, sk, shapes, cursor: null })
  }
  for (const t of removed) {
    remove.push({ feed: t.id, sk })
    jobs.push({ id: randomId(), op: 'remove', feed: t.id, sk, cursor: null })
  }
  const body = JSON.stringify({ ...activity, origin: null })
  await ctx.write(
    {
      expect: [{ sk, body: previous }],
      activities: [{ sk, body, foreignId: activity.foreign_id }],
      add,
      remove,
      audit: ctx.audited(() => [
        auditEntry('activity', activity.id, 'updated', actorUser(activity.actor), {
          added_targets: added.map((t) => t.id),
          removed_targets: removed.map((t) => t.id),
        }),
      ]),
    },
    jobs,
  )
}

/**
 * Writes `prepared` (when given) and puts it in the `add` feeds, and takes activity `sk` out of
 * the `remove` feeds, each with fan-out to its followers, in one write: how the activity that
 * stands for a reaction in its target feeds follows the reaction (no `to`, no audit entry:
 * the reaction's own entry says it).
 */
export async function retarget(
  ctx: EngineContext,
  sk: string,
  prepared: PreparedActivity | undefined,
  add: FeedRef[],
  remove: FeedRef[],
): Promise<void> {
  const entries: EntryWrite[] = []
  const removes: EntryRemove[] = []
  const jobs: FanoutJob[] = []
  if (prepared) {
    const shapes = shapesFor(ctx.groups, sk, prepared.activity)
    for (const t of add) {
      entries.push(entryFor(t.group, t.id, sk, prepared.activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: t.id, sk, shapes, cursor: null })
    }
  }
  for (const t of remove) {
    removes.push({ feed: t.id, sk })
    jobs.push({ id: randomId(), op: 'remove', feed: t.id, sk, cursor: null })
  }
  const activities = prepared ? [{ sk, body: prepared.body, foreignId: prepared.activity.foreign_id }] : []
  await ctx.write({ activities, add: entries, remove: removes }, jobs)
}
