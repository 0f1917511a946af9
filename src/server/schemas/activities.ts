/** Schemas of the activity routes (stream-api.md §3.1): get by ids, full update, partial update. */
import { type Static, Type } from 'typebox'
import { Activity, Empty, ERRORS, NewActivity, param, query, timedObject } from './common.js'
import { ReactionFlags } from './feeds.js'

const tags = ['activities']

/** `GET activities/` and `enrich/activities/`. */
export const getActivities = (enrich: boolean) => ({
  tags,
  summary: enrich
    ? 'Get activities by id or by foreign_id + time, with references resolved and reaction fields'
    : 'Get activities by id or by foreign_id + time (unknown ones, and ones the reader may not read, left out)',
  querystring: query({
    ids: param('activity ids, comma-separated (at most 100)'),
    foreign_ids: param('foreign ids, comma-separated, with timestamps'),
    timestamps: param('the times of foreign_ids, in the same order'),
    ...ReactionFlags,
  }),
  response: { 200: timedObject({ results: Type.Array(Activity) }), ...ERRORS },
})

/** `POST activities/` (server tokens). */
export const updateActivities = {
  tags,
  summary: 'Replace whole activities, each named by foreign_id + time (server tokens)',
  body: Type.Object(
    { activities: Type.Array(NewActivity, { description: 'at most 100, each with foreign_id and time' }) },
    { additionalProperties: false, title: 'an activities update' },
  ),
  response: { 200: Empty, ...ERRORS },
}

/** One partial update: the activity (by id, or foreign_id + time), fields to set and to unset. */
const Change = Type.Object(
  {
    id: Type.Optional(Type.Unknown({ description: 'the activity id' })),
    foreign_id: Type.Optional(Type.Unknown({ description: 'or its foreign_id, with time' })),
    foreignId: Type.Optional(Type.Unknown({ description: 'same as foreign_id' })),
    time: Type.Optional(Type.Unknown()),
    set: Type.Optional(Type.Unknown({ description: 'dotted paths and their new values' })),
    unset: Type.Optional(Type.Unknown({ description: 'dotted paths to remove' })),
  },
  { additionalProperties: false, title: 'a partial update' },
)

const Changes = Type.Object(
  { changes: Type.Array(Type.Object(Change.properties, { additionalProperties: false, title: 'a change' })) },
  { additionalProperties: false, title: 'a partial update' },
)

/**
 * `{ changes: [...] }`, or one change at the top level (stream-ruby, stream-go2 and stream-php
 * send a single partial update); a body without `changes` that names `id` or `foreign_id` is one.
 */
const PartialBody = Type.Unsafe<Static<typeof Change> | Static<typeof Changes>>({
  title: 'a partial update: { changes: [...] }, or one { id | foreign_id + time, set, unset }',
  type: 'object',
  if: { not: { required: ['changes'] }, anyOf: [{ required: ['id'] }, { required: ['foreign_id'] }] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
  then: Change,
  else: Changes,
})

/** `POST activity/`. */
export const partialUpdate = {
  tags,
  summary: 'Set and unset fields of activities (a user token: only its own)',
  body: PartialBody,
  response: {
    200: Type.Union([
      Type.Intersect([Activity, Type.Object({ duration: Type.String() })], {
        title: 'the activity (one change)',
      }),
      timedObject({ activities: Type.Array(Activity) }, { title: 'the activities (changes)' }),
    ]),
    ...ERRORS,
  },
}
