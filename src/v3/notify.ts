/**
 * Stream's automatic notification activities (`create_notification_activity` on follows,
 * reactions, comments and comment reactions): an activity in `notification:<owner>` of type
 * `follow`, `reaction`, `comment` or `comment_reaction` with its `notification_context`, added
 * through the engine like any activity, so its group, marks and events are the notification
 * feed's (notifications.ts) and V1 reads it too.
 */
import type { Activity } from '../engine/activity.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import { actorId, v3Id } from './activity-model.js'
import type { NotificationComment, NotificationContext } from './gen/spec.js'

/** What a notification activity tells: who did what, on which of the notified user's things. */
export interface NotificationCause {
  /** `follow`, `reaction`, `comment` or `comment_reaction` (the activity's type). */
  type: string
  /** The user who acted. */
  actor: string
  /** The user notified. */
  notified: string
  /** What was acted on (an activity, comment or feed id) and Stream's context of it. */
  object: string
  context: NotificationContext
  text?: string
}

/**
 * Adds Stream's automatic notification activity to `notification:<notified>` (when that group is
 * a notification group, and the actor is not the notified user). A write of its own, after the
 * cause committed: when it fails the cause stays, and the caller hears of the failure.
 */
export async function notify(ctx: ServerContext, cause: NotificationCause): Promise<void> {
  if (cause.actor === cause.notified || ctx.engine.groups.get('notification')?.kind !== 'notification') return
  const ref = ctx.engine.feed('notification', cause.notified)
  const activity: Record<string, unknown> = {
    actor: `SU:${cause.actor}`,
    verb: cause.type,
    object: cause.object,
    feeds: [ref.id],
    notification_context: cause.context,
  }
  if (cause.text !== undefined) activity.text = cause.text
  await ctx.engine.addActivities(ref, [activity])
}

/** The target of a notification about `activity`: the activity itself. */
function activityTarget(activity: Activity): NotificationContext['target'] {
  const target: NotificationContext['target'] = {
    id: v3Id(activity),
    type: activity.verb,
    user_id: actorId(activity),
  }
  if (typeof activity.text === 'string') target.text = activity.text
  return target
}

/** Notifies an activity's author of `user`'s new reaction of `type` on it. */
export function notifyReaction(
  ctx: ServerContext,
  user: string,
  activity: Activity,
  type: string,
): Promise<void> {
  return notify(ctx, {
    type: 'reaction',
    actor: user,
    notified: actorId(activity),
    object: v3Id(activity),
    context: {
      target: activityTarget(activity),
      trigger: { type: 'reaction', text: `${user} reacted with ${type} to your activity` },
    },
  })
}

/** A comment as Stream's NotificationComment. */
function commentOf(comment: Reaction): NotificationComment {
  const text = comment.data.text
  return { id: comment.id, user_id: comment.user_id, comment: typeof text === 'string' ? text : '' }
}

/** Notifies an activity's author of `user`'s new `comment` on it. */
export function notifyComment(
  ctx: ServerContext,
  user: string,
  activity: Activity,
  comment: Reaction,
): Promise<void> {
  return notify(ctx, {
    type: 'comment',
    actor: user,
    notified: actorId(activity),
    object: v3Id(activity),
    context: {
      target: activityTarget(activity),
      trigger: { type: 'comment', text: `${user} commented on your activity`, comment: commentOf(comment) },
    },
  })
}

/** Notifies a comment's author of `user`'s new reaction of `type` on it. */
export function notifyCommentReaction(
  ctx: ServerContext,
  user: string,
  comment: Reaction,
  activity: Activity,
  type: string,
): Promise<void> {
  return notify(ctx, {
    type: 'comment_reaction',
    actor: user,
    notified: comment.user_id,
    object: comment.id,
    context: {
      target: { ...activityTarget(activity), id: v3Id(activity), comment: commentOf(comment) },
      trigger: { type: 'comment_reaction', text: `${user} reacted with ${type} to your comment` },
    },
  })
}
