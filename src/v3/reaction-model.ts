/**
 * V3 reactions, comments and bookmarks as the engine's reactions (the ones V1's `reactions`
 * API serves): a comment is a reaction of kind `comment` (its text, custom fields, attachments
 * and mentions in the reaction's data); a reply is a `comment` child of a comment; a reaction on
 * an activity is a reaction whose kind is the V3 type, a reaction on a comment a child of that
 * kind; a bookmark is a reaction of kind `bookmark` (its folder and custom fields in the data).
 * The engine nests reactions three deep: comment, reply, reply to the reply.
 */
import type { Activity } from '../engine/activity.js'
import type { UserObject } from '../engine/documents.js'
import type { Reaction } from '../engine/reaction-model.js'
import type {
  ActivityResponse,
  BookmarkResponse,
  CommentResponse,
  FeedsReactionGroupResponse,
  FeedsReactionResponse,
  ThreadedCommentResponse,
} from './gen/spec.js'
import { rfc3339 } from './time.js'
import { userResponse } from './users.js'

/** Kind of comments and replies. */
export const COMMENT = 'comment'
/** Kind of bookmarks. */
export const BOOKMARK = 'bookmark'
/** Kinds that are not V3 reactions. */
const NOT_REACTIONS = new Set([COMMENT, BOOKMARK])

const userOf = (r: Reaction) =>
  userResponse(
    r.user_id,
    typeof r.user.created_at === 'string' ? (r.user as unknown as UserObject) : undefined,
  )

/** A reaction as V3's FeedsReactionResponse (on activity `activityId`, or on a comment). */
export function reactionResponse(r: Reaction, activityId: string): FeedsReactionResponse {
  const out: FeedsReactionResponse = {
    activity_id: activityId,
    type: r.kind,
    user: userOf(r),
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
    custom: (r.data.custom as Record<string, unknown>) ?? {},
  }
  if (r.parent) out.comment_id = r.parent
  return out
}

/** Reaction groups and counts of the kinds that are V3 reactions. */
function groups(
  counts: Record<string, number>,
  latest: Record<string, Reaction[]>,
): { reaction_groups: Record<string, FeedsReactionGroupResponse>; reaction_count: number } {
  const reaction_groups: Record<string, FeedsReactionGroupResponse> = {}
  let reaction_count = 0
  for (const [kind, count] of Object.entries(counts)) {
    if (NOT_REACTIONS.has(kind) || count <= 0) continue
    const times = (latest[kind] ?? []).map((r) => rfc3339(r.created_at)).sort()
    const now = new Date().toISOString()
    reaction_groups[kind] = {
      count,
      first_reaction_at: times[0] ?? now,
      last_reaction_at: times.at(-1) ?? now,
    }
    reaction_count += count
  }
  return { reaction_groups, reaction_count }
}

const reactionsOf = (byKind: Record<string, Reaction[]> | undefined) =>
  Object.entries(byKind ?? {})
    .filter(([kind]) => !NOT_REACTIONS.has(kind))
    .flatMap(([, list]) => list)

/**
 * A comment's scores, from its reactions: `score` is its reactions but downvotes minus its
 * downvotes (`top`); `confidence` the lower bound of the 95% Wilson interval of its positive share
 * (`best`); `controversy` is (positive + negative) ^ (smaller / larger), 0 without both (`controversial`).
 */
export function commentScores(r: Reaction): { score: number; confidence: number; controversy: number } {
  let positive = 0
  for (const [kind, count] of Object.entries(r.children_counts))
    if (!NOT_REACTIONS.has(kind) && kind !== 'downvote') positive += count
  const negative = r.children_counts.downvote ?? 0
  const n = positive + negative
  const z = 1.96
  const p = n === 0 ? 0 : positive / n
  const confidence =
    n === 0
      ? 0
      : (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p) + (z * z) / (4 * n)) / n)) / (1 + (z * z) / n)
  const controversy =
    positive > 0 && negative > 0 ? n ** (Math.min(positive, negative) / Math.max(positive, negative)) : 0
  return { score: positive - negative, confidence, controversy }
}

/** A comment reaction as V3's ThreadedCommentResponse, with its newest replies to the engine's depth. */
export function commentResponse(r: Reaction, activityId: string): ThreadedCommentResponse {
  const data = r.data
  const { reaction_groups, reaction_count } = groups(r.children_counts, r.latest_children)
  const scores = commentScores(r)
  const out: ThreadedCommentResponse = {
    id: r.id,
    object_id: activityId,
    object_type: 'activity',
    user: userOf(r),
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
    custom: (data.custom as Record<string, unknown>) ?? {},
    reply_count: r.children_counts[COMMENT] ?? 0,
    reaction_count,
    reaction_groups,
    latest_reactions: reactionsOf(r.latest_children).map((c) => reactionResponse(c, activityId)),
    own_reactions: reactionsOf(r.own_children).map((c) => reactionResponse(c, activityId)),
    mentioned_users: [],
    status: r.deleted_at ? 'deleted' : 'active',
    score: scores.score,
    confidence_score: scores.confidence,
    controversy_score: scores.controversy,
    upvote_count: r.children_counts.upvote ?? 0,
    downvote_count: r.children_counts.downvote ?? 0,
    bookmark_count: r.children_counts[BOOKMARK] ?? 0,
  }
  if (typeof data.text === 'string') out.text = data.text
  if (Array.isArray(data.attachments)) out.attachments = data.attachments as CommentResponse['attachments']
  if (typeof data.edited_at === 'string') out.edited_at = data.edited_at
  if (r.parent) out.parent_id = r.parent
  if (r.deleted_at) out.deleted_at = rfc3339(r.deleted_at)
  const replies = r.latest_children[COMMENT]
  if (replies) out.replies = replies.map((c) => commentResponse(c, activityId))
  return out
}

/** Fills an ActivityResponse's reaction, comment and bookmark fields from the engine's reaction fields. */
export function addReactionFields(out: ActivityResponse, activity: Activity): void {
  const counts = (activity.reaction_counts ?? {}) as Record<string, number>
  const latest = (activity.latest_reactions ?? {}) as Record<string, Reaction[]>
  const own = (activity.own_reactions ?? {}) as Record<string, Reaction[]>
  const { reaction_groups, reaction_count } = groups(counts, latest)
  out.reaction_groups = reaction_groups
  out.reaction_count = reaction_count
  out.comment_count = counts[COMMENT] ?? 0
  out.bookmark_count = counts[BOOKMARK] ?? 0
  out.latest_reactions = reactionsOf(latest).map((r) => reactionResponse(r, out.id))
  out.own_reactions = reactionsOf(own).map((r) => reactionResponse(r, out.id))
  out.comments = (latest[COMMENT] ?? []).map((r) => commentResponse(r, out.id))
  // A bookmark shows its activity: a copy without the bookmarks, so the answer has no cycle
  // (made only when there are bookmarks: most activities of a page have none).
  const marks = own[BOOKMARK] ?? []
  const shown = marks.length === 0 ? out : { ...out, own_bookmarks: [] }
  out.own_bookmarks = marks.map((r) => bookmarkResponse(r, shown))
}

/** A bookmark reaction as V3's BookmarkResponse (on `comment` when given, else on `activity`). */
export function bookmarkResponse(
  r: Reaction,
  activity: ActivityResponse,
  comment?: CommentResponse,
): BookmarkResponse {
  const out: BookmarkResponse = {
    activity,
    activity_id: activity.id,
    object_id: comment ? comment.id : activity.id,
    object_type: comment ? 'comment' : 'activity',
    ...(comment ? { comment } : {}),
    user: userOf(r),
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
    custom: (r.data.custom as Record<string, unknown>) ?? {},
  }
  return out
}
