/** A feed handle shaped like the official `getstream` client's `StreamFeed`. */
import type { Engine } from '../engine/engine.js'
import { EddyError, inputError } from '../engine/errors.js'
import type { FeedMessage } from '../engine/events.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { checkOptionNames } from '../engine/option-names.js'
import { GET_FEED_OPTIONS, type GetFeedOptions } from '../engine/read.js'
import { duration } from '../wire/duration.js'
import { type FollowRelation, relations } from '../wire/follows.js'
import { streamLinks } from '../wire/links.js'
import { type APIResponse, type FeedResponse, feedResponse } from '../wire/responses.js'
import type { ActivityInput, ActivityOf, NoFields } from './types.js'

/** A realtime subscription (`feed.subscribe`): `cancel()` it; awaiting it resolves once active. */
export type FeedSubscription = Promise<void> & { cancel(): void }

/** Stream's `{ duration }` envelope, and one follow relation as `followers()`/`following()` list it. */
export type { APIResponse, FollowRelation }

/** Options of `followers()` and `following()`. */
export interface GetFollowOptions {
  limit?: number
  offset?: number
  /** Only these feeds (ids like `user:42`), as a list or a comma-separated string. */
  filter?: string[] | string
}

const FOLLOW_LIST_OPTIONS = Object.keys({
  limit: true,
  offset: true,
  filter: true,
} satisfies Record<keyof GetFollowOptions, true>)

/**
 * A feed: `client.feed('user', '42')`. Methods mirror getstream's names, arguments and results.
 * `R` is what `get()` resolves with (flat, aggregated or notification, from the feed group) and
 * `F` the custom activity fields; `client.feed()` fills both in.
 */
export class EddyFeed<R extends FeedResponse = FeedResponse, F extends object = NoFields> {
  /** The feed group, e.g. `user`. */
  readonly slug: string
  /** The user id part, e.g. `42`. */
  readonly userId: string
  /** `slug:userId`. */
  readonly id: string
  readonly #engine: Engine
  readonly #handle: FeedRef | EddyError

  /**
   * `ref` is the feed, or why the slug and id name none (an unknown group, a bad id): then every
   * method rejects with that error, as the official client's calls do when Stream refuses the feed,
   * instead of `client.feed()` throwing before the caller's `await` or `.catch()` is in place.
   */
  constructor(engine: Engine, ref: FeedRef | EddyError, slug?: unknown, userId?: unknown) {
    this.#engine = engine
    this.#handle = ref
    this.slug = ref instanceof EddyError ? String(slug) : ref.slug
    this.userId = ref instanceof EddyError ? String(userId) : ref.userId
    this.id = ref instanceof EddyError ? `${this.slug}:${this.userId}` : ref.id
  }

  /** The feed; throws (inside the async methods: rejects) when the handle names none. */
  get #ref(): FeedRef {
    if (this.#handle instanceof EddyError) throw this.#handle
    return this.#handle
  }

  /** The feed a follow names; the user id may be given as a user object with `id`, as getstream allows. */
  #target(slug: string, userId: string | { id: string }) {
    return this.#engine.feed(slug, typeof userId === 'object' && userId !== null ? userId.id : userId)
  }

  /** Adds one activity; resolves with it as stored (id, time, foreign_id...). */
  async addActivity(activity: ActivityInput & F): Promise<ActivityOf<F> & APIResponse> {
    const started = performance.now()
    const [stored] = await this.#engine.addActivities(this.#ref, [activity])
    // The engine's result is a fresh copy, and `duration` is never an activity field.
    return Object.assign(stored as ActivityOf<F>, { duration: duration(started) })
  }

  /** Adds up to 100 activities in one write. */
  async addActivities(
    activities: (ActivityInput & F)[],
  ): Promise<{ activities: ActivityOf<F>[] } & APIResponse> {
    const started = performance.now()
    const stored = await this.#engine.addActivities(this.#ref, activities)
    return { activities: stored as ActivityOf<F>[], duration: duration(started) }
  }

  /**
   * Removes an activity by id, or every activity with a foreign id (`{ foreign_id }` or
   * `{ foreignId }`), from this feed and the feeds it fanned out to.
   */
  async removeActivity(
    activity: string | { foreign_id?: string; foreignId?: string },
  ): Promise<{ removed: string } & APIResponse> {
    const started = performance.now()
    if (typeof activity === 'string') {
      await this.#engine.removeById(this.#ref, activity)
      return { removed: activity, duration: duration(started) }
    }
    const foreignId =
      activity && typeof activity === 'object' ? (activity.foreign_id ?? activity.foreignId) : undefined
    if (typeof foreignId !== 'string' || foreignId === '') {
      throw inputError('removeActivity takes an activity id or { foreign_id }', activity, 'activity')
    }
    await this.#engine.removeByForeignId(this.#ref, foreignId)
    return { removed: foreignId, duration: duration(started) }
  }

  /**
   * Reads a page: `limit`, `offset`, `id_lt`/`id_lte`/`id_gt`/`id_gte`, `mark_seen`, `mark_read`.
   * The result's type follows the feed group's kind (see `client.feed()`).
   */
  async get(options: GetFeedOptions = {}): Promise<R> {
    checkOptionNames(options, GET_FEED_OPTIONS, 'feed.get()')
    const started = performance.now()
    // readFeed answers by the group's configured kind, the same one R was computed from.
    const page = await this.#engine.readFeed(this.#ref, options, { links: streamLinks() })
    return feedResponse(page, this.#ref, started) as R
  }

  /** Reads the single activity (or group) with this id. */
  async getActivityDetail(activityId: string, options: GetFeedOptions = {}): Promise<R> {
    checkOptionNames(options, GET_FEED_OPTIONS, 'feed.getActivityDetail()')
    return this.get({ ...options, id_lte: activityId, id_gte: activityId, limit: 1 })
  }

  /** Follows `targetSlug:targetUserId`, copying its newest `limit` activities (default 100, max 1000). */
  async follow(
    targetSlug: string,
    targetUserId: string | { id: string },
    options: { limit?: number } = {},
  ): Promise<APIResponse> {
    const started = performance.now()
    checkOptionNames(options, ['limit'], 'feed.follow()')
    const target = this.#target(targetSlug, targetUserId)
    await this.#engine.follow([{ source: this.#ref, target }], options?.limit)
    return { duration: duration(started) }
  }

  /** Stops following; the target's activities leave this feed unless `keepHistory`. */
  async unfollow(
    targetSlug: string,
    targetUserId: string | { id: string },
    options: { keepHistory?: boolean } = {},
  ): Promise<APIResponse> {
    const started = performance.now()
    checkOptionNames(options, ['keepHistory'], 'feed.unfollow()')
    const target = this.#target(targetSlug, targetUserId)
    await this.#engine.unfollow([{ source: this.#ref, target, keepHistory: options?.keepHistory === true }])
    return { duration: duration(started) }
  }

  /**
   * Realtime, as getstream's `feed.subscribe(callback)`: `callback` gets Stream's message for
   * every change to this feed (adds, removes, fan-out delivery, marks; see events.ts) after it
   * commits. Returns the subscription: `cancel()` stops it; awaiting it resolves at once. It
   * registers a listener rather than doing async work, so a bad callback or feed throws here.
   */
  subscribe(callback: (message: FeedMessage) => void): FeedSubscription {
    if (typeof callback !== 'function')
      throw inputError('subscribe needs a callback function', callback, 'callback')
    const stop = this.#engine.events.listen(this.#ref.id, callback)
    return Object.assign(Promise.resolve(), { cancel: () => void stop() })
  }

  /** Feeds that follow this one, newest follow first. */
  async followers(options: GetFollowOptions = {}): Promise<{ results: FollowRelation[] } & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, FOLLOW_LIST_OPTIONS, 'feed.followers()')
    const rows = await this.#engine.follows(this.#ref, 'followers', options)
    return { results: relations(rows), duration: duration(started) }
  }

  /** Feeds this one follows, newest follow first. */
  async following(options: GetFollowOptions = {}): Promise<{ results: FollowRelation[] } & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, FOLLOW_LIST_OPTIONS, 'feed.following()')
    const rows = await this.#engine.follows(this.#ref, 'following', options)
    return { results: relations(rows), duration: duration(started) }
  }

  /** Follower and following counts, optionally only from some slugs. */
  async followStats(options: { followerSlugs?: string[]; followingSlugs?: string[] } = {}): Promise<
    {
      results: { followers: { feed: string; count: number }; following: { feed: string; count: number } }
    } & APIResponse
  > {
    const started = performance.now()
    checkOptionNames(options, ['followerSlugs', 'followingSlugs'], 'feed.followStats()')
    const { followers, following } = await this.#engine.followStats(this.#ref, options ?? {})
    return {
      results: {
        followers: { feed: this.id, count: followers },
        following: { feed: this.id, count: following },
      },
      duration: duration(started),
    }
  }

  /** Replaces, adds or removes the `to` targets of the activity with this foreign id and time. */
  async updateActivityToTargets(
    foreignId: string,
    time: string | Date,
    newTargets?: string[],
    addedTargets?: string[],
    removedTargets?: string[],
  ): Promise<ActivityOf<F> & { added?: string[]; removed?: string[] } & APIResponse> {
    const started = performance.now()
    const result = await this.#engine.updateToTargets(
      this.#ref,
      foreignId,
      time instanceof Date ? time.toISOString() : time,
      {
        new_targets: newTargets,
        added_targets: addedTargets,
        removed_targets: removedTargets,
      },
    )
    const activity = result.activity as ActivityOf<F>
    return { ...activity, added: result.added, removed: result.removed, duration: duration(started) }
  }
}
