/**
 * The embedded client: `connect()` returns an object shaped like the official `getstream`
 * client, so code moves between embedded Eddy, the Eddy server and Stream's cloud unchanged.
 */
import type { Activity } from '../engine/activity.js'
import { Engine, type EngineOptions } from '../engine/engine.js'
import { EddyError, inputError } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { checkOptionNames } from '../engine/option-names.js'
import { openQueue, openStore } from '../presets.js'
import { PendingStorage, type StorageAdapter } from '../store/store.js'
import { openMedia, type UploadsOptions } from '../uploads/index.js'
import type { OgResult, OpenGraph } from '../uploads/og.js'
import type { Served, Uploads } from '../uploads/uploads.js'
import { duration } from '../wire/duration.js'
import { streamLinks } from '../wire/links.js'
import type { APIResponse } from '../wire/responses.js'
import { EddyCollections } from './collections.js'
import { EddyFeed } from './feed.js'
import {
  type ExactGroups,
  GET_ACTIVITIES_OPTIONS,
  type GetActivitiesOptions,
  PARTIAL_CHANGE_FIELDS,
} from './option-lists.js'
import { EddyAuditLogs, EddyReactions } from './reactions.js'
import type {
  ActivityInput,
  ActivityOf,
  FeedGroupsConfig,
  FeedKindOf,
  FeedResponseOf,
  FeedSlug,
  NoFields,
  PartialChangeInput,
  WithDefaultGroups,
} from './types.js'
import { EddyFiles, EddyImages, openGraph, serveUpload } from './uploads.js'
import { EddyUser } from './users.js'
import { EddyV3 } from './v3.js'

export { DEFAULT_SQLITE_FILE, openStore } from '../presets.js'

/** Options of {@link connect}; `G` is the type of `feedGroups`, which types the reads. */
export interface ConnectOptions<G extends FeedGroupsConfig = FeedGroupsConfig> extends EngineOptions {
  /**
   * Where feeds live: `'memory'`, `'sqlite:<file path>'` (`sqlite::memory:` for a throwaway
   * database), or a {@link StorageAdapter}. Default: `sqlite:./eddy.sqlite` in the working directory.
   */
  store?: string | StorageAdapter
  /**
   * Timelines and group state in Redis instead of the store's tables (`store` must then be a
   * PostgreSQL URL, which keeps everything else): `'redis://host:6379'` or
   * `'redis-cluster://host:7000,host:7001'` (docs/scale-out.md).
   */
  timelines?: string
  /**
   * Fan-out through a BullMQ queue: `true` for the `timelines` Redis, or a Redis location of its
   * own. Writes then queue their fan-out instead of delivering it here; `eddy worker` processes
   * (or `client.engine.work()`) deliver it.
   */
  queue?: string | true
  /** Feed groups merged over the defaults: `{ slug: { type, aggregationFormat, ... } }`. */
  feedGroups?: G & ExactGroups<G>
  /**
   * Files, images and link previews: where bytes live (default beside the feeds), size and pixel
   * limits, `og` settings, and `publicUrl`, the start of upload URLs (default `/`); docs/server.md, Uploads.
   */
  uploads?: UploadsOptions & { publicUrl?: string }
}

// Every option connect() reads; typed so that a new option cannot be forgotten here.
const CONNECT_OPTIONS: Record<keyof ConnectOptions, true> = {
  store: true,
  timelines: true,
  queue: true,
  fanoutQueue: true,
  feedGroups: true,
  fanoutChunkSize: true,
  fanoutLeaseMs: true,
  fanoutMaxFailures: true,
  fanoutRetryMs: true,
  localFanout: true,
  auditLog: true,
  uploads: true,
}

/** A follow to create with `followMany`; `activity_copy_limit` overrides the call's for this one. */
export interface FollowRelationInput {
  source: string
  target: string
  activity_copy_limit?: number
}

/** A follow to remove with `unfollowMany`. */
export interface UnfollowRelationInput {
  source: string
  target: string
  keep_history?: boolean
}

/** getstream's types also spell a foreign id `foreignID`; the engine reads `foreign_id`. */
function foreignIdSpelling<T>(item: T): T {
  if (item === null || typeof item !== 'object' || !('foreignID' in item) || 'foreign_id' in item) return item
  const { foreignID, ...rest } = item as { foreignID: unknown }
  return { ...rest, foreign_id: foreignID } as T
}

/**
 * The embedded Eddy client. `G` is the configured feed groups (so `feed('notification', id).get()`
 * is typed as a notification page) and `F` the custom activity fields; the bare `EddyClient`
 * type accepts any client.
 */
// biome-ignore lint/suspicious/noExplicitAny: `any` as G's default makes every typed client assignable to the bare `EddyClient` type.
export class EddyClient<G extends FeedGroupsConfig = any, F extends object = NoFields> {
  /** The engine behind this client (for the server and integrations). */
  readonly engine: Engine
  /** Reactions, shaped like getstream's `client.reactions` (the reacting user is named with `userId`). */
  readonly reactions: EddyReactions
  /** The audit log, shaped like getstream's `client.auditLogs`. */
  readonly auditLogs: EddyAuditLogs
  /** Collections, shaped like getstream's `client.collections` (engine/collections.ts's rules). */
  readonly collections: EddyCollections
  /** Uploads (the server's files/ and images/ routes share it). */
  readonly uploads: Uploads
  /** Link previews (the server's og/ route shares it). */
  readonly openGraph: OpenGraph
  /** File uploads, shaped like getstream's `client.files` (`{ userId }` acts as that user). */
  readonly files: EddyFiles
  /** Image uploads and processing, shaped like getstream's `client.images`. */
  readonly images: EddyImages
  /** Feeds V3's concepts beside V1's (follow requests, pins, notification status...; client/v3.ts). */
  readonly v3: EddyV3
  readonly #resumed: Promise<void>

  constructor(engine: Engine, media: { uploads: Uploads; og: OpenGraph; publicUrl?: string }) {
    this.engine = engine
    this.reactions = new EddyReactions(engine)
    this.auditLogs = new EddyAuditLogs(engine)
    this.collections = new EddyCollections(engine)
    this.uploads = media.uploads
    this.openGraph = media.og
    this.files = new EddyFiles(media.uploads, media.publicUrl ?? '/')
    this.images = new EddyImages(media.uploads, media.publicUrl ?? '/')
    this.v3 = new EddyV3(engine)
    // Fan-out accepted by an earlier process is finished in the background; flush() awaits it.
    this.#resumed = engine.resume().catch(() => undefined)
  }

  /** A user, shaped like getstream's `client.user(id)`: get, create, update, delete, getOrCreate, profile. */
  user(id: string): EddyUser {
    return new EddyUser(this.engine, id)
  }

  /**
   * A feed handle: `client.feed('user', '42')` or `client.feed('user:42')`. A literal slug must
   * be a configured group, and the handle's reads are typed by that group's kind. The optional
   * `token` of getstream's signature is accepted and ignored (the embedded client has no auth).
   */
  feed<S extends string>(
    slug: FeedSlug<G, S>,
    userId?: string | number | { id: string },
    _token?: string,
  ): EddyFeed<FeedResponseOf<FeedKindOf<G, S>, F>, F> {
    let s: unknown = slug
    let id: unknown = typeof userId === 'object' && userId !== null ? userId.id : userId
    if (id === undefined && typeof slug === 'string' && slug.includes(':')) [s, id] = slug.split(':', 2)
    let ref: FeedRef | EddyError
    try {
      ref = this.engine.feed(s, id)
    } catch (error) {
      // A feed the engine refuses (unknown group, bad id, closed client): its calls reject with why.
      if (!(error instanceof EddyError)) throw error
      ref = error
    }
    return new EddyFeed(this.engine, ref, s, id)
  }

  /**
   * Activities by `ids`, or by `foreignIDTimes` (`[{ foreign_id, time }]`; `foreignID` and
   * `foreignId` work too). getstream's enrichment options are accepted and ignored.
   */
  async getActivities(options: GetActivitiesOptions): Promise<{ results: ActivityOf<F>[] } & APIResponse> {
    const started = performance.now()
    if (!options || typeof options !== 'object')
      throw inputError('give { ids } or { foreignIDTimes }', options, 'options')
    checkOptionNames(options, GET_ACTIVITIES_OPTIONS, 'getActivities()')
    let results: Activity[]
    if (options.ids !== undefined) results = await this.engine.getActivities(options.ids)
    else if (options.foreignIDTimes !== undefined) {
      const pairs = Array.isArray(options.foreignIDTimes)
        ? options.foreignIDTimes.map(foreignIdSpelling)
        : options.foreignIDTimes
      results = await this.engine.getActivitiesByForeignIds(pairs)
    } else throw inputError('give { ids } or { foreignIDTimes }', options, 'options')
    // Reaction flags (withOwnReactions with user_id, withRecentReactions...) as on feed reads.
    const flags = this.engine.reactions.flags(options)
    if (flags) await this.engine.reactions.addFields(results, flags, streamLinks())
    return { results: results as ActivityOf<F>[], duration: duration(started) }
  }

  /** Replaces whole activities, identified by `foreign_id` + `time`. */
  async updateActivities(activities: (ActivityInput & F)[]): Promise<APIResponse> {
    const started = performance.now()
    await this.engine.updateActivities(activities)
    return { duration: duration(started) }
  }

  /** Replaces one whole activity, identified by `foreign_id` + `time`. */
  async updateActivity(activity: ActivityInput & F): Promise<APIResponse> {
    return this.updateActivities([activity])
  }

  /**
   * `set` (dotted paths) and `unset` fields of one activity named by `id` or `foreign_id`
   * (`foreignID`, `foreignId`) + `time`.
   */
  async activityPartialUpdate(change: PartialChangeInput<F>): Promise<ActivityOf<F> & APIResponse> {
    const started = performance.now()
    checkOptionNames(change, PARTIAL_CHANGE_FIELDS, 'activityPartialUpdate()', 'field')
    const [activity] = await this.engine.partialUpdate([foreignIdSpelling(change)])
    return { ...(activity as ActivityOf<F>), duration: duration(started) }
  }

  /** Partial updates of several activities in one write. */
  async activitiesPartialUpdate(
    changes: PartialChangeInput<F>[],
  ): Promise<{ activities: ActivityOf<F>[] } & APIResponse> {
    const started = performance.now()
    if (Array.isArray(changes))
      for (const c of changes)
        checkOptionNames(c, PARTIAL_CHANGE_FIELDS, 'activitiesPartialUpdate()', 'field')
    const list = Array.isArray(changes) ? changes.map(foreignIdSpelling) : changes
    const activities = await this.engine.partialUpdate(list)
    return { activities: activities as ActivityOf<F>[], duration: duration(started) }
  }

  /** Adds one activity to many feeds (ids like `user:1`) without fan-out. */
  async addToMany(activity: ActivityInput & F, feeds: string[]): Promise<APIResponse> {
    const started = performance.now()
    await this.engine.addToMany(activity, feeds)
    return { duration: duration(started) }
  }

  /**
   * Creates many follows, each copying the newest `activityCopyLimit` activities (default 100),
   * or its own `activity_copy_limit`.
   */
  async followMany(follows: FollowRelationInput[], activityCopyLimit?: number): Promise<APIResponse> {
    const started = performance.now()
    if (!Array.isArray(follows))
      throw inputError('follows must be a list of { source, target }', follows, 'follows')
    const pairs = follows.map((f) => {
      if (!f || typeof f !== 'object')
        throw inputError('each follow must be { source, target }', f, 'follows')
      checkOptionNames(f, ['source', 'target', 'activity_copy_limit'], 'followMany()', 'field')
      return {
        source: this.engine.parseFeed(f.source, 'source'),
        target: this.engine.parseFeed(f.target, 'target'),
        limit: f.activity_copy_limit,
      }
    })
    await this.engine.follow(pairs, activityCopyLimit)
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
      checkOptionNames(f, ['source', 'target', 'keep_history'], 'unfollowMany()', 'field')
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

  /** The link preview of `url` (getstream's `client.og`): title, description, images, favicon... */
  og(url: string): Promise<OgResult & APIResponse> {
    return openGraph(this.openGraph, url)
  }

  /** The HTTP answer (status, headers, bytes) for an upload URL, for an app that serves `/uploads/` itself. */
  serveUpload(url: string, etag?: string): Promise<Served> {
    return serveUpload(this.uploads, url, etag)
  }

  /** Resolves once every accepted fan-out has been delivered. */
  async flush(): Promise<void> {
    await this.#resumed
    await this.engine.flush()
  }

  /**
   * Resolves with this client once its store is open (a PostgreSQL store connects and migrates
   * in the background); rejects with the EddyError that says why it could not open. Calls made
   * before wait for it anyway: this is for failing fast at start.
   */
  async ready(): Promise<this> {
    await this.engine.ready()
    return this
  }

  /** Finishes pending fan-out and releases the store. */
  async close(): Promise<void> {
    await this.#resumed
    await Promise.all([this.engine.close(), this.uploads.close()])
  }
}

/**
 * Opens Eddy in-process. `connect()` uses `./eddy.sqlite`; `connect({ store: 'memory' })`
 * keeps nothing; `connect({ store: 'sqlite:data/feeds.db', feedGroups: {...} })`. Reads are
 * typed by the groups given (literal types, so no `as const` is needed); custom activity fields
 * are the first type argument: `connect<{ text: string }>()`, or with groups
 * `connect<{ text: string }, typeof groups>({ feedGroups: groups })`.
 */
export function connect<F extends object = NoFields, const G extends FeedGroupsConfig = NoFields>(
  options: ConnectOptions<G> = {},
): EddyClient<WithDefaultGroups<G>, F> {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw inputError('connect options must be an object', options, 'options')
  // A typo would otherwise silently use the default.
  checkOptionNames(options, Object.keys(CONNECT_OPTIONS), 'connect()')
  const { uploads, ...engineOptions } = options
  const { publicUrl, ...uploadOptions } = uploads ?? {}
  if (publicUrl !== undefined && typeof publicUrl !== 'string')
    throw inputError(
      'uploads.publicUrl must be a string such as https://cdn.example.com/',
      publicUrl,
      'uploads.publicUrl',
    )
  const media = openMedia(uploadOptions, options.store)
  const store = openStore(options.store, options.timelines)
  try {
    const fanoutQueue = options.fanoutQueue ?? openQueue(options.queue, options.timelines)
    const base = publicUrl === undefined || publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`
    return new EddyClient(new Engine(store, { ...engineOptions, fanoutQueue }), { ...media, publicUrl: base })
  } catch (error) {
    // A pending backend has not started loading: only one already open needs closing.
    if (!(store instanceof PendingStorage)) void store.close()
    void media.uploads.close()
    throw error
  }
}
