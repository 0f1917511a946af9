/** The names the embedded client's methods accept, as types and as lists for the run-time check. */
import type { FeedGroupOptions } from '../engine/feed-groups.js'
import type { GetFeedOptions } from '../engine/read.js'
import type { ForeignIdTimeInput, PartialChangeInput } from './types.js'

/** Each group's options as given, with a name FeedGroupOptions lacks typed `never` (a typo is a type error). */
export type ExactGroups<G> = {
  [S in keyof G]: Record<Exclude<keyof G[S], keyof FeedGroupOptions>, never>
}

/** What `getActivities()` takes: ids or foreign id + time pairs, and getstream's enrichment flags. */
export type GetActivitiesOptions = {
  ids?: string[]
  foreignIDTimes?: ForeignIdTimeInput[]
} & Pick<
  GetFeedOptions,
  | 'enrich'
  | 'withOwnReactions'
  | 'ownReactions'
  | 'withRecentReactions'
  | 'withReactionCounts'
  | 'withOwnChildren'
  | 'recentReactionsLimit'
  | 'reactionKindsFilter'
  | 'user_id'
  | 'withUserId'
  | 'reactions'
>

/** Every name of GetActivitiesOptions, for the run-time check. */
export const GET_ACTIVITIES_OPTIONS = Object.keys({
  ids: true,
  foreignIDTimes: true,
  enrich: true,
  withOwnReactions: true,
  ownReactions: true,
  withRecentReactions: true,
  withReactionCounts: true,
  withOwnChildren: true,
  recentReactionsLimit: true,
  reactionKindsFilter: true,
  user_id: true,
  withUserId: true,
  reactions: true,
} satisfies Record<keyof GetActivitiesOptions, true>)

/** Every field of a partial update, for the run-time check. */
export const PARTIAL_CHANGE_FIELDS = Object.keys({
  id: true,
  foreign_id: true,
  foreignID: true,
  foreignId: true,
  time: true,
  set: true,
  unset: true,
} satisfies Record<keyof PartialChangeInput, true>)
