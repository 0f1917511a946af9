/**
 * The embedded client: `connect()` returns an object shaped like the official `getstream`
 * client, so code moves between embedded Eddy, the Eddy server and Stream's cloud unchanged.
 */
import { resolve } from 'node:path'
import type { Activity, NewActivity } from '../engine/activity.js'
import {
  DEFAULT_COPY_LIMIT,
  Engine,
  type EngineOptions,
  intOption,
  MAX_COPY_LIMIT,
} from '../engine/engine.js'
import { inputError } from '../engine/errors.js'
import type { FeedGroupOptions } from '../engine/feed-groups.js'
import { duration } from '../engine/read.js'
import {
  type ForeignIdTime,
  getActivitiesByForeignIds,
  getActivitiesByIds,
  type PartialUpdate,
  partialUpdate,
  updateActivities,
} from '../engine/updates.js'
import { MemoryStore } from '../store/memory/memory-store.js'
import { openSqliteStore } from '../store/sqlite/index.js'
import type { Store } from '../store/store.js'
import { type APIResponse, EddyFeed } from './feed.js'

/** The SQLite file `connect()` opens when no store is given, relative to the working directory. */
export const DEFAULT_SQLITE_FILE = 'eddy.sqlite'

/** Options of {@link connect}. */
export interface ConnectOptions extends EngineOptions {
  /**
   * Where feeds live: `'memory'`, `'sqlite:<file path>'` (`sqlite::memory:` for a throwaway
   * database), or a {@link Store}. Default: `sqlite:./eddy.sqlite` in the working directory.
   */
  store?: string | Store
  /** Feed groups merged over the defaults: `{ slug: { type, aggregationFormat, ... } }`. */
  feedGroups?: Record<string, FeedGroupOptions>
}

/** Opens the store an option names. */
export function openStore(spec: string | Store | undefined): Store {
  if (spec !== undefined && typeof spec === 'object' && spec !== null) return spec
  const value = spec ?? `sqlite:${DEFAULT_SQLITE_FILE}`
  if (value === 'memory') return new MemoryStore()
  if (typeof value === 'string' && value.startsWith('sqlite:') && value.length > 'sqlite:'.length) {
    const path = value.slice('sqlite:'.length)
    return openSqliteStore(path === ':memory:' ? path : resolve(path))
  }
  throw inputError("store must be 'memory', 'sqlite:<file path>' or a Store", spec, 'store')
}

/** A follow to create with `followMany`. */
export interface FollowRelationInput {
  source: string
  target: string
}

/** A follow to remove with `unfollowMany`. */
export interface UnfollowRelationInput extends FollowRelationInput {
  keep_history?: boolean
}

/** The embedded Eddy client. */
export class EddyClient {
  /** The engine behind this client (for the server and integrations). */
  readonly engine: Engine
  readonly #resumed: Promise<void>

  constructor(engine: Engine) {
    this.engine = engine
    // Fan-out accepted by an earlier process is finished in the background; flush() awaits it.
    this.#resumed = engine.resume().catch(() => undefined)
  }

  /** A feed handle: `client.feed('user', '42')` or `client.feed('user:42')`. */
  feed(slug: string, userId?: string | number | { id: string }): EddyFeed {
    let s: unknown = slug
    let id: unknown = typeof userId === 'object' && userId !== null ? userId.id : userId
    if (id === undefined && typeof slug === 'string' && slug.includes(':')) [s, id] = slug.split(':', 2)
    return new EddyFeed(this.engine, this.engine.feed(s, id))
  }

  /** Activities by `ids`, or by `foreignIDTimes` (`[{ foreignId, time }]`). */
  async getActivities(options: {
    ids?: string[]
    foreignIDTimes?: ForeignIdTime[]
  }): Promise<{ results: Activity[] } & APIResponse> {
    const started = performance.now()
    if (!options || typeof options !== 'object')
      throw inputError('give { ids } or { foreignIDTimes }', options, 'options')
    let results: Activity[]
    if (options.ids !== undefined) results = await getActivitiesByIds(this.engine, options.ids)
    else if (options.foreignIDTimes !== undefined)
      results = await getActivitiesByForeignIds(this.engine, options.foreignIDTimes)
    else throw inputError('give { ids } or { foreignIDTimes }', options, 'options')
    return { results, duration: duration(started) }
  }

  /** Replaces whole activities, identified by `foreign_id` + `time`. */
  async updateActivities(activities: NewActivity[]): Promise<APIResponse> {
    const started = performance.now()
    await updateActivities(this.engine, activities)
    return { duration: duration(started) }
  }

  /** Replaces one whole activity, identified by `foreign_id` + `time`. */
  updateActivity(activity: NewActivity): Promise<APIResponse> {
    return this.updateActivities([activity])
  }

  /** `set` (dotted paths) and `unset` fields of one activity named by `id` or `foreign_id` + `time`. */
  async activityPartialUpdate(change: PartialUpdate): Promise<Activity & APIResponse> {
    const started = performance.now()
    const [activity] = await partialUpdate(this.engine, [change])
    return { ...activity, duration: duration(started) }
  }

  /** Partial updates of several activities in one write. */
  async activitiesPartialUpdate(changes: PartialUpdate[]): Promise<{ activities: Activity[] } & APIResponse> {
    const started = performance.now()
    const activities = await partialUpdate(this.engine, changes)
    return { activities, duration: duration(started) }
  }

  /** Adds one activity to many feeds (ids like `user:1`) without fan-out. */
  async addToMany(activity: NewActivity, feeds: string[]): Promise<APIResponse> {
    const started = performance.now()
    await this.engine.addToMany(activity, feeds)
    return { duration: duration(started) }
  }

  /** Creates many follows, each copying the newest `activityCopyLimit` activities (default 100). */
  async followMany(follows: FollowRelationInput[], activityCopyLimit?: number): Promise<APIResponse> {
    const started = performance.now()
    if (!Array.isArray(follows))
      throw inputError('follows must be a list of { source, target }', follows, 'follows')
    const limit = intOption(activityCopyLimit, 'activity_copy_limit', 0, MAX_COPY_LIMIT, DEFAULT_COPY_LIMIT)
    const pairs = follows.map((f) => {
      if (!f || typeof f !== 'object')
        throw inputError('each follow must be { source, target }', f, 'follows')
      return {
        source: this.engine.parseFeed(f.source, 'source'),
        target: this.engine.parseFeed(f.target, 'target'),
      }
    })
    await this.engine.follow(pairs, limit)
    return { duration: duration(started) }
  }

  /** Removes many follows; `keep_history: true` keeps the activities already copied. */
  async unfollowMany(unfollows: UnfollowRelationInput[]): Promise<APIResponse> {
    const started = performance.now()
    if (!Array.isArray(unfollows))
      throw inputError('unfollows must be a list of { source, target }', unfollows, 'unfollows')
    const pairs = unfollows.map((f) => {
      if (!f || typeof f !== 'object')
        throw inputError('each unfollow must be { source, target }', f, 'unfollows')
      if (f.keep_history !== undefined && typeof f.keep_history !== 'boolean') {
        throw inputError('keep_history must be a boolean', f.keep_history, 'keep_history')
      }
      return {
        source: this.engine.parseFeed(f.source, 'source'),
        target: this.engine.parseFeed(f.target, 'target'),
        keepHistory: f.keep_history === true,
      }
    })
    await this.engine.unfollow(pairs)
    return { duration: duration(started) }
  }

  /** Resolves once every accepted fan-out has been delivered. */
  async flush(): Promise<void> {
    await this.#resumed
    await this.engine.flush()
  }

  /** Finishes pending fan-out and releases the store. */
  async close(): Promise<void> {
    await this.#resumed
    await this.engine.close()
  }
}

/**
 * Opens Eddy in-process. `connect()` uses `./eddy.sqlite`; `connect({ store: 'memory' })`
 * keeps nothing; `connect({ store: 'sqlite:data/feeds.db', feedGroups: {...} })`.
 */
export function connect(options: ConnectOptions = {}): EddyClient {
  if (options === null || typeof options !== 'object')
    throw inputError('connect options must be an object', options, 'options')
  const store = openStore(options.store)
  try {
    return new EddyClient(new Engine(store, options))
  } catch (error) {
    void store.close()
    throw error
  }
}
