/**
 * Eddy: activity feeds for TypeScript. Flat, aggregated and notification feeds with follows and
 * fan-out on write, embedded on SQLite, behind a client shaped like the official `getstream` one.
 *
 * @example
 * ```ts
 * import { connect } from 'eddy'
 * const client = connect({ store: 'memory' })
 * await client.feed('timeline', 'bob').follow('user', 'alice')
 * await client.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: 'post:1' })
 * await client.flush()
 * const { results } = await client.feed('timeline', 'bob').get({ limit: 10 })
 * ```
 * @module
 */
export {
  type ConnectOptions,
  connect,
  DEFAULT_SQLITE_FILE,
  EddyClient,
  type FollowRelationInput,
  openStore,
  type UnfollowRelationInput,
} from './client/client.js'
export { type APIResponse, EddyFeed, type FollowRelation, type GetFollowOptions } from './client/feed.js'
export type { GetActivitiesOptions } from './client/option-lists.js'
export {
  EddyAuditLogs,
  EddyReactions,
  type ReactionAddOptions,
  type ReactionUpdateOptions,
  type TargetFeed,
} from './client/reactions.js'
export type {
  ActivityInput,
  ActivityOf,
  DefaultFeedGroups,
  FeedGroupsConfig,
  FeedKindOf,
  FeedResponseOf,
  FeedSlug,
  ForeignIdTimeInput,
  NoFields,
  PartialChangeInput,
  WithDefaultGroups,
} from './client/types.js'
export type { ActAs, ImageProcessOptions, UploadData } from './client/uploads.js'
export type { Activity, NewActivity } from './engine/activity.js'
export { DEFAULT_AGGREGATION_FORMAT } from './engine/aggregation.js'
export type { AuditLog, AuditLogOptions, AuditLogPage } from './engine/audit.js'
export { Engine, type EngineOptions } from './engine/engine.js'
export { EddyError, type ErrorBody, type ErrorKind } from './engine/errors.js'
export { DEFAULT_FEED_GROUPS, type FeedGroupOptions } from './engine/feed-groups.js'
export { idToSk, skToId } from './engine/ids.js'
export type { ReactionFilterOptions, ReactionPage } from './engine/reaction-filter.js'
export type { Reaction } from './engine/reaction-model.js'
export type { ReactionEvent, ReactionListener, Reactions } from './engine/reactions.js'
export type { AggregatedGroup, GetFeedOptions, NotificationGroup } from './engine/read.js'
export { formatTime, parseTime } from './engine/time.js'
export { MemoryStore } from './store/memory/memory-store.js'
export { setOutageLog } from './store/outage.js'
export { openSqliteStore, type SqliteOptions, SqliteStore } from './store/sqlite/index.js'
export type { FeedKind, Store } from './store/store.js'
export {
  type BlobMeta,
  type BlobStore,
  DirBlobs,
  type ImageLimits,
  MemoryBlobs,
  type OgOptions,
  type OgResult,
  PgBlobs,
  S3Blobs,
  type S3BlobsOptions,
  type Served,
  type UploadKind,
  type UploadsOptions,
} from './uploads/index.js'
export { version } from './version.js'
export type {
  AggregatedFeedResponse,
  FeedResponse,
  FlatFeedResponse,
  NotificationFeedResponse,
} from './wire/responses.js'
