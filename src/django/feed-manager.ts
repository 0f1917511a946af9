/**
 * The feed manager (stream-django's `FeedManager`): which feeds exist for a user, follows
 * between them, and writing/removing the activity of a tracked row. Subclass it and set
 * `feedManagerClass` to change behaviour (e.g. publish from a job queue).
 */
import type { ModelClass } from './activity-model.js'
import { type ActivityModel, activityOf } from './activity-model.js'
import { publishable } from './references.js'
import { getClient, getSettings, settingsVersion } from './settings.js'
import * as tracking from './tracking.js'
import type { FeedClient, FeedLike } from './types.js'

/** Options of {@link FeedManager.followUser}. */
export interface FollowUserOptions {
  /** Target feed group (default: the `userFeed` setting; stream-django issue #60). */
  feedType?: string
  /** How many existing activities to copy into the following feeds. */
  activityCopyLimit?: number
}

/** Options of {@link FeedManager.unfollowUser}. */
export interface UnfollowUserOptions {
  feedType?: string
  /** Keep activities already copied into the following feeds. */
  keepHistory?: boolean
}

type Id = string | number | bigint

/** stream-django's FeedManager with TypeScript names. Settings are read on every call. */
export class FeedManager {
  /** The key for "every model" in enable/disable calls. */
  static readonly EVERY_MODEL = tracking.EVERY_MODEL

  /** The client in force (settings may replace it at runtime). */
  get client(): FeedClient {
    return getClient()
  }

  get userFeed(): string {
    return getSettings().userFeed
  }

  get notificationFeed(): string {
    return getSettings().notificationFeed
  }

  /** The news feed group names: the keys of the `newsFeeds` setting (values are ignored). */
  get newsFeeds(): string[] {
    const s = getSettings().newsFeeds
    return Array.isArray(s) ? [...s] : Object.keys(s)
  }

  /** `feed(slug, userId)` from the configured client. */
  getFeed(slug: string, userId: Id): FeedLike {
    return this.client.feed(slug, String(userId))
  }

  /** The user's own feed: `getUserFeed(42).id === 'user:42'`, or another group with `feedType`. */
  getUserFeed(userId: Id, feedType?: string): FeedLike {
    return this.getFeed(feedType ?? this.userFeed, userId)
  }

  /** `notification:42`. */
  getNotificationFeed(userId: Id): FeedLike {
    return this.getFeed(this.notificationFeed, userId)
  }

  /** `{ timeline: timeline:42, timeline_aggregated: timeline_aggregated:42 }`. */
  getNewsFeeds(userId: Id): Record<string, FeedLike> {
    const feeds: Record<string, FeedLike> = {}
    for (const slug of this.newsFeeds) feeds[slug] = this.getFeed(slug, userId)
    return feeds
  }

  /** The feed group a row's activity is written to (`user` unless the model says otherwise). */
  getActorFeed(instance: object, model?: ActivityModel | string | ModelClass): string {
    return activityOf(instance, model).authorFeed
  }

  /** Every news feed of `userId` follows the user feed of `targetUserId`. */
  async followUser(userId: Id, targetUserId: Id, options: FollowUserOptions = {}): Promise<void> {
    const slug = options.feedType ?? this.userFeed
    const extra = options.activityCopyLimit === undefined ? undefined : { limit: options.activityCopyLimit }
    for (const feed of Object.values(this.getNewsFeeds(userId))) {
      if (extra) await feed.follow(slug, String(targetUserId), extra)
      else await feed.follow(slug, String(targetUserId))
    }
  }

  /** Every news feed of `userId` stops following the user feed of `targetUserId`. */
  async unfollowUser(userId: Id, targetUserId: Id, options: UnfollowUserOptions = {}): Promise<void> {
    const slug = options.feedType ?? this.userFeed
    for (const feed of Object.values(this.getNewsFeeds(userId))) {
      if (options.keepHistory) await feed.unfollow(slug, String(targetUserId), { keepHistory: true })
      else await feed.unfollow(slug, String(targetUserId))
    }
  }

  /** Writes the row's activity to `<authorFeed>:<actorId>`; resolves with the client's answer. */
  async addActivityToFeed(instance: object, model?: ActivityModel | string | ModelClass): Promise<unknown> {
    const view = activityOf(await publishable(instance), model)
    const activity = view.createActivity()
    return this.getFeed(view.authorFeed, view.actorId).addActivity(activity)
  }

  /** Removes the row's activity (by foreign id) from `<authorFeed>:<actorId>` and its followers. */
  async removeActivityFromFeed(
    instance: object,
    model?: ActivityModel | string | ModelClass,
  ): Promise<unknown> {
    const view = activityOf(await publishable(instance), model)
    return this.getFeed(view.authorFeed, view.actorId).removeActivity({ foreign_id: view.foreignId })
  }

  /**
   * Called (after commit) when a tracked row was created, and by the explicit
   * `activityCreated(instance)`. Override to defer publishing (queues, background jobs).
   */
  async activityCreated(instance: object, model?: ActivityModel | string | ModelClass): Promise<unknown> {
    if (!activityOf(await publishable(instance), model).shouldPublish) return undefined
    return this.addActivityToFeed(instance, model)
  }

  /** Called (after commit) when a tracked row was removed, and by `activityDeleted(instance)`. */
  async activityDeleted(instance: object, model?: ActivityModel | string | ModelClass): Promise<unknown> {
    return this.removeActivityFromFeed(instance, model)
  }

  /** Whether automatic tracking applies to `model` now. */
  shouldTrack(...modelKeys: unknown[]): boolean {
    return tracking.shouldTrack(...modelKeys)
  }

  /** Tracking off for one model (class or name), or for all. */
  disableModelTracking(model?: unknown): void {
    tracking.disableModelTracking(model)
  }

  /** Tracking back on for one model, or globally. */
  enableModelTracking(model?: unknown): void {
    tracking.enableModelTracking(model)
  }
}

let instance: FeedManager | undefined
let instanceClass: (new () => FeedManager) | undefined
let seenVersion = -1

/** The manager in force: an instance of the `feedManagerClass` setting (made again if it changes). */
export function getFeedManager(): FeedManager {
  const version = settingsVersion()
  if (instance && seenVersion === version) return instance
  const wanted = getSettings().feedManagerClass ?? FeedManager
  if (!instance || instanceClass !== wanted) {
    const made = new wanted()
    if (!(made instanceof FeedManager)) throw new Error('feedManagerClass must extend FeedManager')
    instance = made
    instanceClass = wanted
  }
  seenVersion = version
  return instance
}

/** The manager singleton; always forwards to the manager in force (see {@link getFeedManager}). */
export const feedManager: FeedManager = new Proxy({} as FeedManager, {
  get(_target, property) {
    const manager = getFeedManager() as any
    const value = manager[property]
    return typeof value === 'function' ? value.bind(manager) : value
  },
})

/**
 * Publishes a row's activity now, for write paths the ORM does not report (raw SQL, bulk
 * writes without hooks) and for async workflows. Not subject to tracking switches.
 */
export async function activityCreated(
  instance: object,
  model?: ActivityModel | string | ModelClass,
): Promise<unknown> {
  return getFeedManager().activityCreated(instance, model)
}

/** Removes a row's activity now (e.g. after `repository.delete(criteria)`, which reports no rows). */
export async function activityDeleted(
  instance: object,
  model?: ActivityModel | string | ModelClass,
): Promise<unknown> {
  return getFeedManager().activityDeleted(instance, model)
}

/** A tracked write waiting for its transaction to commit: a created or deleted row of an activity model. */
export interface PendingPublish {
  action: 'create' | 'delete'
  instance: object
  model: ActivityModel
}

/**
 * Publishes buffered writes in order through the current feed manager. Every item is tried;
 * failures go to the `onPublishError` setting, or are thrown together once all have run (the
 * rows are committed either way, so one bad row must not hide the others).
 */
export async function publishPending(items: PendingPublish[]): Promise<void> {
  const manager = getFeedManager()
  const onError = getSettings().onPublishError
  const errors: unknown[] = []
  for (const item of items) {
    try {
      if (item.action === 'create') await manager.activityCreated(item.instance, item.model)
      else await manager.activityDeleted(item.instance, item.model)
    } catch (error) {
      if (onError) onError(error, { action: item.action, instance: item.instance, model: item.model.name })
      else errors.push(error)
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, `publishing ${errors.length} activities failed`)
}
