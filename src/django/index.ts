/**
 * `eddy/django`: the ORM-agnostic part of Eddy's stream-django port: settings, the feed manager,
 * model references, explicit publishing, tracking switches, enrichment and template-name
 * resolution. It holds process-wide state (the configured client, the `client` and `feedManager`
 * singletons, registered models), which is why it is a subpath of its own and not part of `eddy`.
 * ORM integrations live in `eddy/typeorm`, `eddy/prisma`, `eddy/sequelize`, `eddy/mikro-orm`,
 * `eddy/drizzle` and `eddy/kysely`; the Liquid tag in `eddy/liquid`.
 * @module
 */
export {
  type ActivityMembers,
  type ActivityModel,
  type ActivityOptions,
  type ActivityPayload,
  ActivityView,
  activityModels,
  activityOf,
  createActivity,
  getActivityModel,
  modelContentType,
  registerActivityModel,
  serializeDates,
  slugify,
  unregisterActivityModel,
} from './activity-model.js'
export {
  type AggregatedLike,
  Enrich,
  EnrichedActivity,
  type EnrichOptions,
  type FetchResult,
  relatedModelsOf,
} from './enrich.js'
export {
  activityCreated,
  activityDeleted,
  FeedManager,
  type FollowUserOptions,
  feedManager,
  getFeedManager,
  type UnfollowUserOptions,
} from './feed-manager.js'
export {
  adapterFor,
  createModelReference,
  createReference,
  describeModel,
  type LoadOptions,
  type ModelAdapter,
  type ModelInfo,
  ModelRef,
  modelRef,
  parseReference,
  registerAdapter,
} from './references.js'
export {
  type ClientSetting,
  client,
  configure,
  DEFAULT_SETTINGS,
  type EddySettings,
  getClient,
  getSettings,
  type PublishErrorInfo,
  resetSettings,
} from './settings.js'
export {
  activityTemplateName,
  checkEnriched,
  MissingDataError,
  type MissingDataPolicy,
  TemplateNotFoundError,
} from './templates.js'
export {
  disableModelTracking,
  EVERY_MODEL,
  enableModelTracking,
  resetTracking,
  shouldTrack,
  type UntrackedReason,
  untrackedScope,
  withoutTracking,
} from './tracking.js'
export { type FeedClient, type FeedLike, isFeedClient } from './types.js'
