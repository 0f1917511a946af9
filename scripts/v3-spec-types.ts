/**
 * Generates src/v3/gen/spec.ts from Stream's Feeds V3 OpenAPI spec (GetStream/protocol,
 * openapi/v2/feeds-serverside-api.json and feeds-clientside-api.json), so the V3 edge's wire
 * shapes come from the spec rather than from hand-copying: a TypeScript type for every schema the
 * served operations reach, and the table of every operation in the spec (the edge answers the ones
 * it does not serve with a "not supported by this server" error).
 *
 *   git clone https://github.com/GetStream/protocol && git -C protocol checkout <commit>
 *   npx tsx scripts/v3-spec-types.ts protocol
 *
 * The spec itself is never committed; the commit it was read at is written into the output.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The operations the V3 edge serves (by operationId); their request and response shapes are generated. */
export const SERVED = [
  'CreatePoll',
  'GetPoll',
  'UpdatePoll',
  'UpdatePollPartial',
  'DeletePoll',
  'CreatePollOption',
  'UpdatePollOption',
  'DeletePollOption',
  'GetPollOption',
  'CastPollVote',
  'DeletePollVote',
  'QueryPolls',
  'QueryPollVotes',
  'GetApp',
  'UpdateUsers',
  'UpdateUsersPartial',
  'QueryUsers',
  'DeleteUsers',
  'DeactivateUser',
  'ReactivateUser',
  'DeactivateUsers',
  'ReactivateUsers',
  'GetTask',
  'BlockUsers',
  'UnblockUsers',
  'GetBlockedUsers',
  'ExportFeedUserData',
  'DeleteFeedUserData',
  'GetOrCreateFeed',
  'UpdateFeed',
  'DeleteFeed',
  'StopWatchingFeed',
  'AddActivity',
  'UpsertActivities',
  'GetActivity',
  'UpdateActivity',
  'UpdateActivityPartial',
  'UpdateActivitiesPartialBatch',
  'DeleteActivity',
  'DeleteActivities',
  'QueryActivities',
  'Follow',
  'GetOrCreateFollow',
  'FollowBatch',
  'GetOrCreateFollows',
  'Unfollow',
  'GetOrCreateUnfollow',
  'GetOrCreateUnfollows',
  'QueryFollows',
  'AddActivityReaction',
  'DeleteActivityReaction',
  'QueryActivityReactions',
  'AddComment',
  'GetComments',
  'GetComment',
  'UpdateComment',
  'DeleteComment',
  'GetCommentReplies',
  'AddCommentReaction',
  'DeleteCommentReaction',
  'UpdateCommentPartial',
  'AddCommentsBatch',
  'AddCommentBookmark',
  'UpdateCommentBookmark',
  'DeleteCommentBookmark',
  'AddBookmark',
  'CreateCollections',
  'ReadCollections',
  'UpdateCollections',
  'UpsertCollections',
  'DeleteCollections',
  'UpdateBookmark',
  'DeleteBookmark',
  'QueryBookmarks',
  'CreateGuest',
  'MarkActivity',
  'GetOrCreateFeedGroup',
  'GetFeedGroup',
  'QueryBookmarkFolders',
  'UpdateBookmarkFolder',
  'DeleteBookmarkFolder',
  'QueryComments',
  'QueryCommentReactions',
  'AcceptFollow',
  'RejectFollow',
  'UpdateFollow',
  'GetFollowSuggestions',
  'PinActivity',
  'UnpinActivity',
  'UpdateFeedMembers',
  'QueryFeedMembers',
  'AcceptFeedMemberInvite',
  'RejectFeedMemberInvite',
  'OwnBatch',
  'QueryFeeds',
  'ListFeedGroups',
  'CreateFeedGroup',
  'UpdateFeedGroup',
  'DeleteFeedGroup',
  'RestoreFeedGroup',
  'ListFeedVisibilities',
  'GetFeedVisibility',
  'CreateFeedsBatch',
  'DeleteFeedsBatch',
  'UnfollowBatch',
  'QueryPinnedActivities',
  'ChangeFeedVisibility',
]

/** Event schemas sent over the WebSocket (not reachable from an operation's body). */
const EVENTS = [
  'ConnectUserDetailsRequest',
  'OwnUserResponse',
  'HealthCheckEvent',
  'ActivityAddedEvent',
  'ActivityDeletedEvent',
  'ActivityUpdatedEvent',
  'FeedCreatedEvent',
  'FeedUpdatedEvent',
  'FeedDeletedEvent',
  'FollowCreatedEvent',
  'FollowDeletedEvent',
  'ActivityReactionAddedEvent',
  'ActivityReactionDeletedEvent',
  'CommentAddedEvent',
  'CommentDeletedEvent',
  'CommentUpdatedEvent',
  'BookmarkAddedEvent',
  'BookmarkDeletedEvent',
  'CommentReactionAddedEvent',
  'CommentReactionDeletedEvent',
  'NotificationFeedUpdatedEvent',
  'ActivityMarkEvent',
  'FollowUpdatedEvent',
  'ActivityPinnedEvent',
  'ActivityUnpinnedEvent',
  'FeedMemberAddedEvent',
  'FeedMemberRemovedEvent',
  'FeedMemberUpdatedEvent',
]

interface Schema {
  $ref?: string
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  additionalProperties?: Schema | boolean
  enum?: unknown[]
  format?: string
  description?: string
  title?: string
}
interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, { schema?: Schema }> }
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>
}
interface Spec {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

const repo = process.argv[2]
if (!repo) throw new Error('usage: tsx scripts/v3-spec-types.ts <GetStream/protocol checkout>')
const commit = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
const read = (name: string): Spec => JSON.parse(readFileSync(join(repo, 'openapi/v2', name), 'utf8'))
// Server side last: where both define a schema, its (fuller) version wins (user_id on requests...).
const specs = [read('feeds-clientside-api.json'), read('feeds-serverside-api.json')]

const schemas = new Map<string, Schema>()
for (const spec of specs)
  for (const [name, s] of Object.entries(spec.components.schemas)) schemas.set(name, s)

const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1)
const wanted = new Set<string>()
const want = (s: Schema | boolean | undefined): void => {
  if (!s || typeof s !== 'object') return
  if (s.$ref) {
    const name = refName(s.$ref)
    if (wanted.has(name)) return
    wanted.add(name)
    want(schemas.get(name))
    return
  }
  for (const p of Object.values(s.properties ?? {})) want(p)
  want(s.items)
  want(s.additionalProperties)
}

const operations: [string, string, string][] = []
const seen = new Set<string>()
for (const spec of specs) {
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op?.operationId) continue
      const key = `${method} ${path}`
      if (seen.has(key)) continue
      seen.add(key)
      operations.push([method.toUpperCase(), path, op.operationId])
      if (!SERVED.includes(op.operationId)) continue
      want(op.requestBody?.content?.['application/json']?.schema)
      for (const r of Object.values(op.responses ?? {})) want(r.content?.['application/json']?.schema)
    }
  }
}
for (const id of SERVED) {
  if (!operations.some((o) => o[2] === id)) throw new Error(`${id} is not an operation of the spec`)
}
for (const e of EVENTS) want({ $ref: `#/components/schemas/${e}` })
operations.sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1].localeCompare(b[1])))

const SAFE_KEY = /^[A-Za-z_$][\w$]*$/
function tsType(s: Schema | boolean | undefined): string {
  if (s === undefined || s === true || s === false) return 'unknown'
  if (s.$ref) return refName(s.$ref)
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  // The spec types timestamps as numbers, but the wire (and the clients' decoders) carry RFC 3339 text.
  if (s.format === 'date-time') return 'string'
  switch (s.type) {
    case 'string':
      return 'string'
    case 'integer':
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array':
      return `${wrap(tsType(s.items))}[]`
    case 'object':
      if (s.properties) return objectType(s, '  ')
      if (s.additionalProperties && typeof s.additionalProperties === 'object')
        return `Record<string, ${tsType(s.additionalProperties)}>`
      return 'Record<string, unknown>'
    default:
      return s.properties ? objectType(s, '  ') : 'unknown'
  }
}
const wrap = (t: string) => (t.includes(' ') && !t.startsWith('{') && !t.startsWith('Record') ? `(${t})` : t)
function objectType(s: Schema, indent: string): string {
  const required = new Set(s.required ?? [])
  const lines = Object.entries(s.properties ?? {}).map(([k, p]) => {
    const key = SAFE_KEY.test(k) ? k : JSON.stringify(k)
    return `${indent}${key}${required.has(k) ? '' : '?'}: ${tsType(p)}`
  })
  return `{\n${lines.join('\n')}\n${indent.slice(2)}}`
}
const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').replaceAll('*/', '* /').trim()

const out: string[] = [
  '// Generated by scripts/v3-spec-types.ts from GetStream/protocol openapi/v2/feeds-{serverside,clientside}-api.json',
  `// at commit ${commit}. Do not edit: regenerate (see the script's header).`,
  '/* biome-ignore-all lint: generated */',
  '',
  '/** The GetStream/protocol commit these types were generated from. */',
  `export const SPEC_COMMIT = '${commit}'`,
  '',
  '/** Every operation of the Feeds V3 spec: [method, path, operationId]. */',
  'export const SPEC_OPERATIONS: readonly (readonly [string, string, string])[] = [',
  ...operations.map((o) => `  [${o.map((v) => `'${v}'`).join(', ')}],`),
  ']',
  '',
  '/** The operations Eddy serves (the others answer "not supported by this server"). */',
  `export const SERVED_OPERATIONS: ReadonlySet<string> = new Set(${JSON.stringify(SERVED)})`,
  '',
]
for (const name of [...wanted].sort()) {
  const s = schemas.get(name)
  if (!s) throw new Error(`schema ${name} is missing`)
  const doc = oneLine(s.description ?? s.title)
  if (doc) out.push(`/** ${doc} */`)
  if (s.type === 'object' && s.properties) out.push(`export interface ${name} ${objectType(s, '  ')}`, '')
  else out.push(`export type ${name} = ${tsType(s)}`, '')
}
const target = new URL('../src/v3/gen/spec.ts', import.meta.url)
writeFileSync(target, out.join('\n'))
execFileSync('npx', ['biome', 'format', '--write', target.pathname], { stdio: 'inherit' })
console.log(`${wanted.size} schemas, ${operations.length} operations, commit ${commit}`)
