/** Schemas of the reaction routes (stream-api.md §3.1 rows 21–27). */
import { type Static, Type } from 'typebox'
import { Activity, Empty, ERRORS, param, query, timedObject } from './common.js'

const tags = ['reactions']

/** A reaction as the API returns it (children nest as reactions). */
export const Reaction = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    activity_id: Type.String(),
    user_id: Type.String(),
    user: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    data: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String(),
    updated_at: Type.String(),
    parent: Type.String({ description: 'the parent reaction id, or empty' }),
    latest_children: Type.Record(Type.String(), Type.Array(Type.Unknown())),
    children_counts: Type.Record(Type.String(), Type.Number()),
    own_children: Type.Optional(Type.Record(Type.String(), Type.Array(Type.Unknown()))),
    target_feeds: Type.Optional(Type.Array(Type.String())),
    target_feeds_extra_data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    deleted_at: Type.Optional(Type.String({ description: 'only on a soft-deleted reaction' })),
  },
  { additionalProperties: true, title: 'Reaction' },
)

const ById = Type.Object({ id: Type.String({ description: 'the reaction id' }) })
const TimedReaction = Type.Intersect([Reaction, Type.Object({ duration: Type.String() })])

/** `POST reaction/`. */
export const addReaction = {
  tags,
  summary:
    'React to an activity, or to a reaction (parent): a like, a comment...; a user token reacts as itself',
  body: Type.Object(
    {
      id: Type.Optional(Type.Unknown({ description: 'a UUID to use (default: generated)' })),
      activity_id: Type.Optional(Type.Unknown({ description: 'the activity reacted to' })),
      parent: Type.Optional(Type.Unknown({ description: 'or the reaction reacted to (a child reaction)' })),
      kind: Type.Unknown({ description: '1 to 255 letters, digits, `_`, `-`, `.`, `:`' }),
      data: Type.Optional(Type.Unknown({ description: 'an object, at most 10 KB of JSON' })),
      target_feeds: Type.Optional(Type.Unknown({ description: 'feed ids to add a reaction activity to' })),
      target_feeds_extra_data: Type.Optional(Type.Unknown({ description: 'an object merged into it' })),
      user_id: Type.Optional(
        Type.Unknown({ description: 'who reacts (server tokens; a user token is its user)' }),
      ),
    },
    { additionalProperties: false, title: 'a reaction' },
  ),
  response: { 200: TimedReaction, ...ERRORS },
}

/** `GET reaction/get_many/`. */
export const getMany = {
  tags,
  summary: 'Reactions by id, in the order asked (unknown ones left out)',
  querystring: query({
    ids: param('reaction ids, comma-separated (at most 100)'),
    include_deleted: param('`true` to include soft-deleted ones (a user token: only its own)'),
  }),
  response: { 200: timedObject({ reactions: Type.Array(Reaction) }), ...ERRORS },
}

/** `GET reaction/:id/`. */
export const getReaction = {
  tags,
  summary: 'One reaction (a soft-deleted one with deleted_at: to a user token only its own)',
  params: ById,
  response: { 200: TimedReaction, ...ERRORS },
}

const FilterParams = Type.Object({
  lookup: Type.String({ description: '`activity_id`, `user_id` or `reaction_id` (children of a reaction)' }),
  value: Type.String({ description: 'the id looked up' }),
})

const filterQuery = query({
  limit: param('page size, at most 25 (default 10)'),
  id_lt: param('only reactions older than this id (the `next` cursor)'),
  id_lte: param('reactions up to and including this id'),
  id_gt: param('only reactions newer than this id'),
  id_gte: param('reactions from this id on'),
  kind: param('only this kind (also in the path)'),
  with_activity_data: param('`true`: add the activity (activity_id lookups)'),
  with_own_children: param("`true`: add the reader's own children"),
  children_user_id: param("whose children are 'own'"),
  filter_user_id: param('only reactions of this user'),
})

const Page = timedObject({
  results: Type.Array(Reaction),
  next: Type.String(),
  activity: Type.Optional(Activity),
})

/** `GET reaction/:lookup/:value/`. */
export const filterReactions = {
  tags,
  summary: 'Reactions of an activity, of a user, or children of a reaction, newest first',
  params: FilterParams,
  querystring: filterQuery,
  response: { 200: Page, ...ERRORS },
}

/** `GET reaction/:lookup/:value/:kind/`. */
export const filterReactionsOfKind = {
  ...filterReactions,
  summary: 'The same, of one kind',
  params: Type.Object({
    ...FilterParams.properties,
    kind: Type.String({ description: 'the reaction kind' }),
  }),
}

const Update = Type.Object(
  {
    data: Type.Optional(Type.Unknown({ description: 'the new data object' })),
    target_feeds: Type.Optional(Type.Unknown({ description: 'the feeds it should now be in' })),
    target_feeds_extra_data: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false, title: 'a reaction update' },
)

/** `PUT reaction/:id/`. */
export const updateReaction = {
  tags,
  summary: "Change a reaction's data and target feeds (a user token: only its own)",
  params: ById,
  // An empty body (axios PUT without data) arrives as null: no change to make but the timestamp.
  body: Type.Unsafe<Static<typeof Update> | null>({
    title: 'a reaction update',
    if: { type: 'null' },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
    then: { type: 'null' },
    else: Update,
  }),
  response: { 200: TimedReaction, ...ERRORS },
}

/** `DELETE reaction/:id/`. */
export const deleteReaction = {
  tags,
  summary: 'Delete a reaction (and its children), or soft-delete it with soft=true',
  params: ById,
  querystring: query({ soft: param('`true`: keep it, restorable, hidden from reads') }),
  response: { 200: Empty, ...ERRORS },
}

/** `PUT reaction/:id/restore/`. */
export const restoreReaction = {
  tags,
  summary: 'Restore a soft-deleted reaction',
  params: ById,
  response: { 200: Empty, ...ERRORS },
}
