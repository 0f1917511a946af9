/** Schemas of the feed routes (stream-api.md §3.1): read, add, remove, to-targets, add_to_many. */
import { type Static, Type } from 'typebox'
import { Activity, Duration, ERRORS, FeedParams, NewActivity, param, query, timedObject } from './common.js'

const tags = ['feeds']

/** Most target updates one to-targets call may carry. */
export const MAX_TARGET_UPDATES = 100

/** The reaction flags a read takes (enrich/ reads apply them; plain reads validate rankingVars). */
export const ReactionFlags = {
  withOwnReactions: param("add the reader's own reactions (own_reactions)"),
  withRecentReactions: param('add the latest reactions (latest_reactions)'),
  withReactionCounts: param('add reaction_counts'),
  withOwnChildren: param("add the reader's own child reactions"),
  recentReactionsLimit: param('latest reactions per kind, at most 25'),
  reactionKindsFilter: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], {
      description: 'only these kinds: comma-separated, or repeated (also as `reactionKindsFilter[]`)',
    }),
  ),
  user_id: param("whose reactions are 'own' (server tokens)"),
  withUserId: param('same as user_id'),
  rankingVars: param('ranking variables, a JSON object'),
  ranking_vars: param('same as rankingVars'),
}

/** A group of an aggregated or notification feed. */
const Group = Type.Object(
  {
    id: Type.String(),
    group: Type.String(),
    verb: Type.String(),
    activity_count: Type.Integer(),
    actor_count: Type.Integer(),
    created_at: Type.String(),
    updated_at: Type.String(),
    activities: Type.Array(Activity),
    is_seen: Type.Optional(Type.Boolean({ description: 'notification feeds' })),
    is_read: Type.Optional(Type.Boolean({ description: 'notification feeds' })),
  },
  { additionalProperties: true, title: 'Group' },
)

/** `GET feed/:slug/:id/` and `enrich/feed/:slug/:id/`. */
export const readFeed = (enrich: boolean) => ({
  tags,
  summary: enrich
    ? 'Read a feed page with references resolved (users, collection entries) and reaction fields'
    : 'Read a feed page: activities (flat) or groups (aggregated, notification), newest first',
  params: FeedParams,
  querystring: query({
    limit: param('page size, 1 to 100 (default 25)'),
    offset: param('entries to skip, at most 1000 (page deeper with id_lt)'),
    id_lt: param('only entries older than this activity or group id (the `next` cursor)'),
    id_lte: param('entries up to and including this id'),
    id_gt: param('only entries newer than this id'),
    id_gte: param('entries from this id on'),
    mark_seen: param('notification feeds: `true` or comma-separated group ids to mark seen'),
    mark_read: param('notification feeds: `true` or comma-separated group ids to mark read'),
    ...ReactionFlags,
  }),
  response: {
    200: timedObject({
      results: Type.Array(Type.Union([Activity, Group])),
      next: Type.String({ description: 'the next page, or empty at the end' }),
      unseen: Type.Optional(Type.Integer({ description: 'notification feeds' })),
      unread: Type.Optional(Type.Integer({ description: 'notification feeds' })),
    }),
    ...ERRORS,
  },
})

const Batch = Type.Object(
  { activities: Type.Array(NewActivity, { description: 'at most 100' }) },
  { additionalProperties: false, title: 'a batch add' },
)

/**
 * One activity, or `{ activities: [...] }`: a body with an `activities` list and no `verb` is a
 * batch (a single activity always has a verb, and may have a custom field named `activities`).
 */
const AddBody = Type.Unsafe<Static<typeof NewActivity> | Static<typeof Batch>>({
  title: 'an activity, or { activities: [...] }',
  type: 'object',
  if: {
    required: ['activities'],
    properties: { activities: { type: 'array' } },
    not: { required: ['verb'] },
  },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
  then: Batch,
  else: NewActivity,
})

/** `POST feed/:slug/:id/`. */
export const addActivities = {
  tags,
  summary: 'Add an activity, or a batch of up to 100, to a feed (and copy it to the `to` feeds)',
  params: FeedParams,
  body: AddBody,
  response: {
    200: Type.Union([
      Type.Intersect([Activity, Type.Object({ duration: Duration })], { title: 'the activity added' }),
      timedObject({ activities: Type.Array(Activity) }, { title: 'the activities added' }),
    ]),
    ...ERRORS,
  },
}

/** `DELETE feed/:slug/:id/:activityId/`. */
export const removeActivity = {
  tags,
  summary: 'Remove an activity from a feed (and from the feeds it was copied to), by id or by foreign_id',
  params: Type.Object({
    ...FeedParams.properties,
    activityId: Type.String({ description: 'the activity id, or its foreign_id with `foreign_id=1`' }),
  }),
  querystring: query({ foreign_id: param('`1` or `true`: the path names a foreign_id') }),
  response: { 200: timedObject({ removed: Type.String() }), ...ERRORS },
}

const TargetUpdate = Type.Object(
  {
    foreign_id: Type.Unknown({ description: "the activity's foreign_id" }),
    time: Type.Unknown({ description: "the activity's time" }),
    new_targets: Type.Optional(
      Type.Unknown({ description: 'replace every `to` target with these feed ids' }),
    ),
    added_targets: Type.Optional(Type.Unknown({ description: 'feed ids to add' })),
    removed_targets: Type.Optional(Type.Unknown({ description: 'feed ids to remove' })),
  },
  { additionalProperties: false, title: 'a to-targets update' },
)

/** One update, or a list of them (the client sends a list when it updates several activities). */
const TargetsBody = Type.Unsafe<Static<typeof TargetUpdate> | Static<typeof TargetUpdate>[]>({
  title: 'a to-targets update, or a list of 1 to 100',
  if: { type: 'array' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
  then: Type.Array(TargetUpdate, { minItems: 1, maxItems: MAX_TARGET_UPDATES }),
  else: TargetUpdate,
})

/** `POST feed_targets/:slug/:id/activity_to_targets/`. */
export const updateTargets = {
  tags,
  summary: "Change an activity's `to` targets: the copies in those feeds are added or removed",
  params: FeedParams,
  body: TargetsBody,
  response: {
    200: Type.Intersect([
      Activity,
      timedObject({
        activity: Activity,
        added: Type.Array(Type.String()),
        removed: Type.Array(Type.String()),
      }),
    ]),
    ...ERRORS,
  },
}

/** `POST feed/add_to_many/` (server tokens). */
export const addToMany = {
  tags,
  summary: 'Add one activity to many feeds (server tokens)',
  body: Type.Object(
    {
      activity: NewActivity,
      feeds: Type.Unknown({ description: 'feed ids like `user:1`, at most 5000' }),
    },
    { additionalProperties: false, title: 'add_to_many' },
  ),
  response: { 200: timedObject({}), ...ERRORS },
}
