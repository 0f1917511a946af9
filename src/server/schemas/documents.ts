/** Schemas of the user, collection and audit-log routes (stream-api.md §3.2, §3.7). */
import { Type } from 'typebox'
import { MAX_ENTRIES, MAX_USERS } from '../../engine/bounds.js'
import { Empty, ERRORS, param, query, timedObject } from './common.js'

const Data = Type.Unknown({ description: 'an object, at most 10 KB of JSON' })
const Id = (description: string) =>
  Type.String({ description: `${description}: letters, digits, - and _, at most 255` })

/** A user as the API returns it. */
const User = Type.Object(
  {
    id: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { title: 'User' },
)

const UserItem = Type.Object(
  { id: Type.Unknown({ description: 'the user id' }), data: Type.Optional(Data) },
  { additionalProperties: false, title: 'a user' },
)
const UserId = Type.Object({ id: Id('the user id') })
const Ids = (what: string, max: number) => query({ ids: param(`${what}, comma-separated (at most ${max})`) })

/** `POST user/`. */
export const createUser = {
  tags: ['users'],
  summary: 'Create a user (409 if it exists, unless get_or_create=true); a user token creates only itself',
  querystring: query({ get_or_create: param('`true`: return the existing user unchanged') }),
  body: UserItem,
  response: { 200: timedObject(User.properties), ...ERRORS },
}

/** `GET user/:id/`. */
export const getUser = {
  tags: ['users'],
  summary: 'A user, with follow counts on request',
  params: UserId,
  querystring: query({ with_follow_counts: param('`true`: add followers_count and following_count') }),
  response: {
    200: timedObject({
      ...User.properties,
      followers_count: Type.Optional(Type.Integer()),
      following_count: Type.Optional(Type.Integer()),
    }),
    ...ERRORS,
  },
}

/** `PUT user/:id/`. */
export const updateUser = {
  tags: ['users'],
  summary: "Replace a user's data (a user token: only its own)",
  params: UserId,
  body: Type.Object({ data: Type.Optional(Data) }, { additionalProperties: false, title: 'a user update' }),
  response: { 200: timedObject(User.properties), ...ERRORS },
}

/** `DELETE user/:id/`. */
export const deleteUser = {
  tags: ['users'],
  summary: 'Delete a user (a user token: only itself)',
  params: UserId,
  response: { 200: Empty, ...ERRORS },
}

/** `POST users/` (server tokens). */
export const createUsers = {
  tags: ['users'],
  summary: 'Create many users; existing ones are kept unless override replaces their data (server tokens)',
  body: Type.Object(
    {
      users: Type.Array(UserItem, { minItems: 1, maxItems: MAX_USERS }),
      override: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false, title: 'a users batch' },
  ),
  response: { 200: timedObject({ created_users: Type.Array(User) }), ...ERRORS },
}

/** `GET users/` (server tokens). */
export const getUsers = {
  tags: ['users'],
  summary: 'The users with these ids that exist (server tokens)',
  querystring: Ids('user ids', MAX_USERS),
  response: { 200: timedObject({ users: Type.Array(User) }), ...ERRORS },
}

/** `DELETE users/` (server tokens). */
export const deleteUsers = {
  tags: ['users'],
  summary: 'Delete the users with these ids (server tokens)',
  querystring: Ids('user ids', MAX_USERS),
  response: { 200: timedObject({ deleted_user_ids: Type.Array(Type.String()) }), ...ERRORS },
}

/** A collection entry as the API returns it. */
const Entry = Type.Object(
  {
    id: Type.String(),
    collection: Type.String(),
    foreign_id: Type.String({ description: '`<collection>:<id>`, what activities reference' }),
    data: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { title: 'CollectionEntry' },
)
const Collection = Type.Object({ collection: Id('the collection name') })
const EntryParams = Type.Object({ ...Collection.properties, id: Id('the entry id') })

/** `POST collections/:collection/`. */
export const addEntry = {
  tags: ['collections'],
  summary: 'Add an entry to a collection (409 if its id exists); a user token owns what it adds',
  params: Collection,
  body: Type.Object(
    {
      id: Type.Optional(Type.Unknown({ description: 'the entry id (default: generated; null or "" too)' })),
      data: Type.Unknown({ description: 'a non-empty object, at most 10 KB of JSON' }),
      user_id: Type.Optional(Type.Unknown({ description: 'the owner (server tokens)' })),
    },
    { additionalProperties: false, title: 'a collection entry' },
  ),
  response: { 200: timedObject(Entry.properties), ...ERRORS },
}

/** `GET collections/:collection/:id/`. */
export const getEntry = {
  tags: ['collections'],
  summary: 'One collection entry',
  params: EntryParams,
  response: { 200: timedObject(Entry.properties), ...ERRORS },
}

/** `PUT collections/:collection/:id/`. */
export const updateEntry = {
  tags: ['collections'],
  summary: "Replace an entry's data (a user token: only an entry it owns)",
  params: EntryParams,
  body: Type.Object({ data: Data }, { additionalProperties: false, title: 'a collection entry update' }),
  response: { 200: timedObject(Entry.properties), ...ERRORS },
}

/** `DELETE collections/:collection/:id/`. */
export const deleteEntry = {
  tags: ['collections'],
  summary: 'Delete an entry (a user token: only one it owns)',
  params: EntryParams,
  response: { 200: Empty, ...ERRORS },
}

/** `POST collections/` (and `meta/`, its older name; server tokens). */
export const upsertEntries = {
  tags: ['collections'],
  summary: 'Insert or replace entries of several collections (server tokens)',
  body: Type.Object(
    {
      data: Type.Record(
        Type.String(),
        Type.Array(Type.Record(Type.String(), Type.Unknown(), { title: 'an entry { id, ...fields }' }), {
          title: 'a list of entries',
        }),
        { title: `{ <collection>: [{ id, ...fields }] }, at most ${MAX_ENTRIES} entries in all` },
      ),
    },
    { additionalProperties: false, title: 'a collections upsert' },
  ),
  response: {
    200: timedObject({
      data: Type.Record(Type.String(), Type.Array(Type.Record(Type.String(), Type.Unknown()))),
    }),
    ...ERRORS,
  },
}

/** `GET collections/` (and `meta/`; server tokens). */
export const selectEntries = {
  tags: ['collections'],
  summary: 'Entries by `<collection>:<id>` (server tokens)',
  querystring: query({
    foreign_ids: param(`\`<collection>:<id>\` refs, comma-separated (at most ${MAX_ENTRIES})`),
  }),
  response: { 200: timedObject({ response: Type.Object({ data: Type.Array(Entry) }) }), ...ERRORS },
}

/** `DELETE collections/` (and `meta/`; server tokens). */
export const deleteEntries = {
  tags: ['collections'],
  summary: 'Delete entries of one collection by id (server tokens)',
  querystring: query({
    collection_name: param('the collection'),
    ids: param(`entry ids, comma-separated (at most ${MAX_ENTRIES})`),
  }),
  response: { 200: Empty, ...ERRORS },
}

const AuditLog = Type.Object(
  {
    id: Type.String(),
    entity_type: Type.String(),
    entity_id: Type.String(),
    action: Type.String(),
    user_id: Type.String(),
    custom: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String(),
  },
  { title: 'AuditLog' },
)

/** `GET audit_logs/` (server tokens). */
export const auditLogs = {
  tags: ['audit logs'],
  summary: 'Audit log entries, newest first, by entity and/or user (server tokens)',
  querystring: query({
    entity_type: param('`activity`, `reaction`, `user` or `collection`, with entity_id'),
    entity_id: param('the entity, with entity_type'),
    user_id: param('changes made by or about this user'),
    limit: param('page size'),
    next: param('the `next` cursor of the previous page'),
    prev: param('the `prev` cursor of the previous page'),
  }),
  response: {
    200: timedObject({ audit_logs: Type.Array(AuditLog), next: Type.String(), prev: Type.String() }),
    ...ERRORS,
  },
}
