/** Feed groups (slugs) and feed ids: configuration, defaults and validation. */
import type { FeedKind } from '../store/store.js'
import {
  compileAggregationFormat,
  DEFAULT_AGGREGATION_FORMAT,
  type GroupKeyFn,
  type GroupSource,
} from './aggregation.js'
import { feedConfigError, inputError } from './errors.js'
import { unknownOptionMessage } from './option-names.js'

/** How one feed group behaves, as configured by the user. */
export interface FeedGroupOptions {
  /** `flat` lists activities; `aggregated` groups them; `notification` adds seen/read. */
  type: FeedKind
  /** Group key template for aggregated and notification feeds. */
  aggregationFormat?: string
  /** How many activities a group shows (counts stay exact). Default 15. */
  maxActivitiesPerGroup?: number
  /** Keep only the newest N activities (flat) or groups; unbounded when absent. */
  maxLength?: number
}

const GROUP_OPTIONS = Object.keys({
  type: true,
  aggregationFormat: true,
  maxActivitiesPerGroup: true,
  maxLength: true,
} satisfies Record<keyof FeedGroupOptions, true>)

/** A validated feed group, ready for the engine. */
export interface FeedGroup {
  slug: string
  kind: FeedKind
  aggregationFormat?: string
  groupKey?: GroupKeyFn
  maxActivitiesPerGroup: number
  maxLength?: number
}

/** The group key of `source` in a grouped feed group (aggregated or notification). */
export function groupKeyIn(group: FeedGroup, source: GroupSource): string {
  if (!group.groupKey) throw new Error(`feed group ${group.slug} is flat: its entries have no group key`)
  return group.groupKey(source)
}

/** The feed groups every Eddy has unless the user overrides them. */
export const DEFAULT_FEED_GROUPS: Record<string, FeedGroupOptions> = {
  user: { type: 'flat' },
  timeline: { type: 'flat' },
  timeline_aggregated: { type: 'aggregated' },
  notification: { type: 'notification' },
}

/** Configured group names, as Stream V1 names feed groups. */
const CONFIG_SLUG = /^\w+$/
/** Names of groups defined through Feeds V3, whose ids may also hold `-` (`flat-notification`). */
export const DEFINED_SLUG = /^[\w-]+$/
/** Any group name a feed id may use (only existing groups are found). */
const SLUG = DEFINED_SLUG
const USER_ID = /^[\w-]+$/
/** Longest accepted user id or slug, in characters. */
export const MAX_ID_LENGTH = 255

function positiveInt(value: unknown, what: string, slug: string, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw feedConfigError(
      `${what} of feed group ${slug} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`,
    )
  }
  return value
}

/** Validates feed-group options merged over the defaults; throws FeedConfigException. */
export function buildFeedGroups(options?: Record<string, FeedGroupOptions>): Map<string, FeedGroup> {
  const merged = { ...DEFAULT_FEED_GROUPS, ...(options ?? {}) }
  const groups = new Map<string, FeedGroup>()
  for (const [slug, opts] of Object.entries(merged)) {
    if (!CONFIG_SLUG.test(slug))
      throw feedConfigError(`feed group name must use letters, numbers or _, got ${JSON.stringify(slug)}`)
    groups.set(slug, buildFeedGroup(slug, opts))
  }
  return groups
}

/** Validates one feed group's options (configured, or defined later: `defineFeedGroup`). */
export function buildFeedGroup(slug: string, opts: FeedGroupOptions): FeedGroup {
  if (typeof slug !== 'string' || !SLUG.test(slug) || slug.length > MAX_ID_LENGTH) {
    throw feedConfigError(`feed group name must use letters, numbers, - or _, got ${JSON.stringify(slug)}`)
  }
  if (!opts || typeof opts !== 'object') {
    throw feedConfigError(
      `feed group ${slug} must be an object like { type: 'flat' }, got ${JSON.stringify(opts)}`,
    )
  }
  // `aggregation_format` would otherwise silently group by the default format.
  const unknown = Object.keys(opts).find((key) => !GROUP_OPTIONS.includes(key))
  if (unknown !== undefined)
    throw feedConfigError(unknownOptionMessage(`feed group ${slug}`, unknown, GROUP_OPTIONS))
  const kind = opts.type
  if (kind !== 'flat' && kind !== 'aggregated' && kind !== 'notification') {
    throw feedConfigError(
      `type of feed group ${slug} must be flat, aggregated or notification, got ${JSON.stringify(kind)}`,
    )
  }
  const group: FeedGroup = {
    slug,
    kind,
    maxActivitiesPerGroup: positiveInt(opts.maxActivitiesPerGroup, 'maxActivitiesPerGroup', slug, 100) ?? 15,
    maxLength: positiveInt(opts.maxLength, 'maxLength', slug, 1_000_000_000),
  }
  if (kind === 'flat') {
    if (opts.aggregationFormat !== undefined) {
      throw feedConfigError(`feed group ${slug} is flat, so it cannot have an aggregationFormat`)
    }
  } else {
    group.aggregationFormat = opts.aggregationFormat ?? DEFAULT_AGGREGATION_FORMAT
    group.groupKey = compileAggregationFormat(group.aggregationFormat, slug)
  }
  return group
}

/** A parsed feed id. */
export interface FeedRef {
  slug: string
  userId: string
  /** `slug:userId`, as stored. */
  id: string
  group: FeedGroup
}

/** Checks a slug against the configured groups; throws FeedConfigException when unknown. */
export function requireGroup(groups: ReadonlyMap<string, FeedGroup>, slug: unknown): FeedGroup {
  if (typeof slug !== 'string' || !SLUG.test(slug) || slug.length > MAX_ID_LENGTH) {
    throw inputError('feed slug must use letters, numbers, - or _ (at most 255)', slug, 'feed_slug')
  }
  const group = groups.get(slug)
  if (!group) {
    throw feedConfigError(
      `feed group ${JSON.stringify(slug)} does not exist; configured groups: ${[...groups.keys()].join(', ')}`,
    )
  }
  return group
}

/** Validates a slug and user id and returns the feed they name. */
export function feedRef(groups: ReadonlyMap<string, FeedGroup>, slug: unknown, userId: unknown): FeedRef {
  const group = requireGroup(groups, slug)
  const id = typeof userId === 'number' && Number.isInteger(userId) ? String(userId) : userId
  if (typeof id !== 'string' || !USER_ID.test(id) || id.length > MAX_ID_LENGTH) {
    throw inputError('feed user id must use letters, numbers, - or _ (at most 255)', userId, 'user_id')
  }
  return { slug: group.slug, userId: id, id: `${group.slug}:${id}`, group }
}

/** Parses `slug:userId` (as in `to`, follow targets and feed lists). */
export function parseFeedId(groups: ReadonlyMap<string, FeedGroup>, value: unknown, field = 'feed'): FeedRef {
  if (typeof value !== 'string') throw inputError(`${field} must be a feed id like user:42`, value, field)
  const colon = value.indexOf(':')
  if (colon <= 0 || colon === value.length - 1) {
    throw inputError(`${field} must be a feed id like user:42`, value, field)
  }
  return feedRef(groups, value.slice(0, colon), value.slice(colon + 1))
}
