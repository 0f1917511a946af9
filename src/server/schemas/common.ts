/**
 * TypeBox schemas shared by the route schemas: path parameters, Stream's error body, the
 * `duration` every response carries, and the activity as the API reads and writes it.
 */
import { type TProperties, type TSchema, Type } from 'typebox'

/** `{ slug, id }` of `/feed/:slug/:id/` routes (the engine checks the group and the id's characters). */
export const FeedParams = Type.Object({
  slug: Type.String({ description: 'feed group, e.g. `user`' }),
  id: Type.String({ description: "feed id within the group, e.g. the user's id" }),
})

/** Stream's error body (docs/server.md, "Errors"). */
export const ErrorBody = Type.Object(
  {
    code: Type.Integer({ description: "Stream's error code (4 bad input, 16 not found, 17 not allowed...)" }),
    exception: Type.String({ description: 'e.g. `InputException`, `DoesNotExistException`' }),
    status_code: Type.Integer(),
    detail: Type.String({ description: 'what was wrong, what is allowed, and the value received' }),
    more_info: Type.String(),
    duration: Type.String(),
    exception_fields: Type.Optional(
      Type.Record(Type.String(), Type.Array(Type.String()), { description: 'the detail, by field' }),
    ),
  },
  { title: 'StreamError' },
)

/** The error answers every authenticated route may give. */
export const ERRORS = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  429: ErrorBody,
} as const

/** `duration` as Stream formats it: milliseconds with two decimals and `ms`. */
export const Duration = Type.String({ description: 'server time spent, e.g. `1.23ms`' })

/** A response object: `properties`, `duration`, and whatever else the call returns. */
export function timedObject<P extends TProperties>(properties: P, options: { title?: string } = {}) {
  return Type.Object({ ...properties, duration: Duration }, { additionalProperties: true, ...options })
}

/** `{ duration }` alone: what writes that return nothing answer. */
export const Empty = timedObject({})

/** An activity as stored and read: Stream's fields plus any custom fields, kept as sent. */
export const Activity = Type.Object(
  {
    id: Type.String({ description: 'UUID Eddy assigned' }),
    actor: Type.Unknown({ description: 'who did it: a string, or an enriched user/collection object' }),
    verb: Type.String(),
    object: Type.Unknown({ description: 'what it is about: a string, or an enriched object' }),
    time: Type.String({ description: 'UTC, `YYYY-MM-DDTHH:MM:SS.ffffff`, no zone' }),
    foreign_id: Type.Optional(Type.String()),
    target: Type.Optional(Type.Unknown()),
    to: Type.Optional(Type.Array(Type.String())),
    origin: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true, title: 'Activity' },
)

/** An activity to add: `actor`, `verb`, `object` and optional Stream fields, plus custom fields. */
export const NewActivity = Type.Object(
  {
    // Optional here: a user token may leave it out and act as itself (engine/policy.ts makes it
    // `SU:<user>`); the engine refuses a missing actor from a server token.
    actor: Type.Optional(
      Type.Unknown({
        description: 'a string such as `SU:alice` or `user:1`; a user token may leave it out (`SU:<user>`)',
      }),
    ),
    verb: Type.Unknown({ description: 'a string, e.g. `post`' }),
    object: Type.Unknown({ description: 'a string such as `post:1`' }),
    time: Type.Optional(
      Type.Unknown({ description: 'UTC ISO time; with foreign_id, makes the add idempotent' }),
    ),
    foreign_id: Type.Optional(Type.Unknown({ description: 'your id for the activity' })),
    target: Type.Optional(Type.Unknown()),
    to: Type.Optional(Type.Unknown({ description: 'feeds to copy it to, e.g. `["notification:bob"]`' })),
  },
  {
    additionalProperties: true,
    title: 'an activity',
    description:
      'Custom fields are kept as sent. The engine checks values (docs/server.md, "Text and time input").',
  },
)

/** A query parameter given once, as text (the route parses it). */
export function param(description: string) {
  return Type.Optional(Type.String({ description }))
}

/** A query string schema: the named parameters, each once; other parameters are allowed and ignored. */
export function query<P extends TProperties>(properties: P) {
  return Type.Object(properties, { additionalProperties: true })
}

/** Marks a schema as a list of `T`. */
export function listOf<T extends TSchema>(item: T, options: { minItems?: number; maxItems?: number } = {}) {
  return Type.Array(item, options)
}
