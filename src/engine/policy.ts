/**
 * What a user may write when acting as themself (a user token on the server): Stream's default
 * policy (stream-api.md §2). Trusted callers (the embedded client, server tokens) pass no user
 * and keep full rights. The engine applies these rules at the moment it reads what it changes,
 * inside the same optimistic write, so no client or server copy of them can drift.
 */
import { type Activity, parseTargets } from './activity.js'
import { inputError, notAllowed } from './errors.js'
import type { FeedGroup, FeedRef } from './feed-groups.js'

/** Whether `actor` names `user` (`SU:<user>` as the official client writes it, or the bare id). */
export function isOwnActor(actor: unknown, user: string): boolean {
  return actor === `SU:${user}` || actor === user
}

/** Throws 403 unless the stored `activity` was written by `user`. */
export function requireOwnActivity(activity: Pick<Activity, 'actor'>, user: string): void {
  if (!isOwnActor(activity.actor, user)) throw notAllowed()
}

/** Throws 403 unless `user` may deliver to each target: its own feeds, or anyone's notification feed. */
export function requireAllowedTargets(targets: FeedRef[], user: string): void {
  for (const t of targets) if (t.userId !== user && t.group.kind !== 'notification') throw notAllowed()
}

/**
 * A user's new activity, checked: the actor defaults to `SU:<user>` (the official client fills it
 * the same way) and must be the user; `to` may name only allowed targets. Returns a copy, so the
 * caller's object is never changed.
 */
export function userActivityInput(
  groups: ReadonlyMap<string, FeedGroup>,
  user: string,
  input: unknown,
): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input // prepareActivity names it
  const activity: Record<string, unknown> = { ...input }
  if (activity.actor === undefined) activity.actor = `SU:${user}`
  if (!isOwnActor(activity.actor, user)) throw notAllowed()
  // The slot of a reaction's activity in its target feeds (reaction-input.ts targetActivity):
  // taken first by a user, it would carry someone else's reaction into the user's feed.
  if (typeof activity.foreign_id === 'string' && activity.foreign_id.startsWith(REACTION_PREFIX)) {
    throw inputError(
      `foreign_id values starting with "${REACTION_PREFIX}" are reserved for reactions' activities in their target feeds`,
      activity.foreign_id,
      'foreign_id',
    )
  }
  requireAllowedTargets(parseTargets(groups, activity.to), user)
  return activity
}

/** The foreign_id prefix of a reaction's activity in its target feeds. */
export const REACTION_PREFIX = 'reaction:'

/** Throws 403 when a user's partial update would change the actor of an activity. */
export function requireActorKept(current: Activity, path: string, value: unknown): void {
  const root = path.split('.')[0]
  if (root !== 'actor') return
  if (path !== 'actor' || value !== current.actor) throw notAllowed()
}

/**
 * Throws 403 unless `user` may deliver a reaction to each target feed: Stream's rule for reaction
 * `target_feeds` is the one for `to` (its own feeds, or anyone's notification feed), on add and update.
 */
export function requireReactionTargets(targets: FeedRef[], user: string): void {
  requireAllowedTargets(targets, user)
}

/**
 * The user a reaction is made as: a user token's own (naming any other is a 403); for trusted
 * callers, whatever they named (validated by the caller).
 */
export function reactionUser(given: unknown, user: string | undefined): unknown {
  if (user === undefined) return given
  if (given !== undefined && given !== null && given !== '' && given !== user) throw notAllowed()
  return user
}

/** Throws 403 unless the stored reaction was made by `user` (updates, deletes, restores). */
export function requireOwnReaction(reaction: { user_id: string }, user: string): void {
  if (reaction.user_id !== user) throw notAllowed()
}
