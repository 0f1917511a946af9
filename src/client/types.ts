/**
 * The embedded client's types: reads typed by the feed group's kind, custom activity fields, and
 * argument types as wide as the official `getstream` client's, so code written against its types
 * compiles against Eddy unchanged.
 */
import type { Activity } from '../engine/activity.js'
import type { FeedGroupOptions } from '../engine/feed-groups.js'
import type { FeedKind } from '../store/store.js'
import type {
  AggregatedFeedResponse,
  FeedResponse,
  FlatFeedResponse,
  NotificationFeedResponse,
} from '../wire/responses.js'

/** Feed groups as `connect({ feedGroups })` takes them: slug → options. */
export type FeedGroupsConfig = Record<string, FeedGroupOptions>

/** The feed groups every client has (`DEFAULT_FEED_GROUPS`), as types. */
export interface DefaultFeedGroups {
  user: { type: 'flat' }
  timeline: { type: 'flat' }
  timeline_aggregated: { type: 'aggregated' }
  notification: { type: 'notification' }
}

/** Groups given to `connect()` over the defaults; a slug given again replaces the default. */
export type WithDefaultGroups<G> = Omit<DefaultFeedGroups, keyof G> & G

/** Custom activity fields (`connect<{ text: string }>()`); `{}` when there are none. */
// biome-ignore lint/complexity/noBannedTypes: `{}` is the identity of `&`: no custom fields.
export type NoFields = {}

/** The slug part of `'user'` or `'user:42'`. */
type SlugOf<S extends string> = S extends `${infer Slug}:${string}` ? Slug : S

/**
 * What `client.feed(slug)` accepts: a configured slug (or `slug:id`) when the argument is a
 * literal, so a misspelt slug is a type error that lists the configured ones; any `string`
 * variable (checked at run time).
 */
export type FeedSlug<G, S extends string> = string extends S
  ? S
  : SlugOf<S> extends keyof G
    ? S
    : (keyof G & string) | `${keyof G & string}:${string}`

/** The kind of the feed group `S` names in `G`; every kind when it is not known statically. */
export type FeedKindOf<G, S extends string> =
  SlugOf<S> extends keyof G
    ? G[SlugOf<S>] extends { type: infer K extends FeedKind }
      ? K
      : FeedKind
    : FeedKind

/** An activity as read, with custom fields `F`. */
export type ActivityOf<F extends object = NoFields> = Activity & F

/** What `get()` resolves with on a feed of kind `K`: flat, aggregated or notification pages. */
export type FeedResponseOf<K extends FeedKind, F extends object = NoFields> = [FeedKind] extends [K]
  ? FeedResponse<ActivityOf<F>>
  : K extends 'flat'
    ? FlatFeedResponse<ActivityOf<F>>
    : K extends 'aggregated'
      ? AggregatedFeedResponse<ActivityOf<F>>
      : NotificationFeedResponse<ActivityOf<F>>

/**
 * An activity to add. As wide as getstream's `NewActivity` (its `object` is `unknown`); Eddy
 * checks at run time that `actor`, `verb` and `object` are strings, numbers or objects with `ref()`.
 */
export interface ActivityInput {
  actor: string | number | { ref(): string }
  verb: string | number
  object: unknown
  target?: string | number | null
  time?: string | Date | number
  foreign_id?: string | number | null
  to?: string[]
  [field: string]: unknown
}

/** A foreign id + time pair, in every spelling getstream's types allow. */
export type ForeignIdTimeInput =
  | { foreign_id: string; time: string | Date }
  | { foreignID: string; time: string | Date }
  | { foreignId: string; time: string | Date }

/** A partial update: `id`, or a foreign id (any spelling) + `time`; `set` and `unset` fields. */
export interface PartialChangeInput<F extends object = NoFields> {
  id?: string
  foreign_id?: string
  foreignID?: string
  foreignId?: string
  time?: string | Date
  set?: Partial<F> & Record<string, unknown>
  unset?: string[]
}
