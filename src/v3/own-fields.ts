/**
 * V3's OwnBatch: the caller's own fields of many feeds at once (`own_capabilities`,
 * `own_follows`, `own_followings`, `own_membership`), what the client asks for when an activity
 * from a feed it holds no state for arrives. Each field is computed by the code the feed read
 * uses (feeds.ts, follows.ts, the engine's members); only the caller's own fields are shown, and
 * a call names at most {@link MAX_FEEDS} feeds.
 */
import { inputError } from '../engine/errors.js'
import { writer } from './activities.js'
import { memberResponses } from './feed-extras.js'
import { capabilities, feedOf, loadFeeds, type V3Feed } from './feeds.js'
import { followResponses, ownFollows } from './follows.js'
import type { FeedOwnData, OwnBatchRequest } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'

/** Most feeds one call may name. */
export const MAX_FEEDS = 100
/** Followers of each of the caller's feeds scanned for own_followings. */
const FOLLOWER_SCAN = 500
/** Stream shows at most this many own_followings per feed. */
const MAX_FOLLOWINGS = 5
/** The fields a call may ask for. */
const FIELDS = ['own_capabilities', 'own_follows', 'own_followings', 'own_membership'] as const
type Field = (typeof FIELDS)[number]

/** Validates the feeds and fields of a call. */
function parse(body: OwnBatchRequest): { fids: string[]; fields: Set<Field> } {
  const fids = body.feeds
  if (!Array.isArray(fids) || fids.length === 0 || fids.length > MAX_FEEDS)
    throw inputError(`feeds must be a list of 1 to ${MAX_FEEDS} feed ids`, fids, 'feeds')
  const fields = body.fields ?? [...FIELDS]
  if (!Array.isArray(fields) || !fields.every((f) => FIELDS.includes(f as Field)))
    throw inputError(`fields must be a list of ${FIELDS.join(', ')}`, fields, 'fields')
  return { fids: [...new Set(fids)], fields: new Set(fields as Field[]) }
}

/**
 * The follows made from the feed owners' feeds of the caller's feeds (a feed of each group whose
 * id is the caller's), by the owner of the following feed: what own_followings shows.
 */
async function followingsByOwner(ctx: Edge['ctx'], userId: string) {
  const mine = [...ctx.engine.groups.keys()].map((slug) => ctx.engine.feed(slug, userId))
  const rows = (
    await Promise.all(mine.map((ref) => ctx.engine.follows(ref, 'followers', { limit: FOLLOWER_SCAN })))
  ).flat()
  const sources = await loadFeeds(
    ctx,
    rows.map((r) => feedOf(ctx, r.source, 'source')),
  )
  const byOwner = new Map<string, typeof rows>()
  for (const row of rows) {
    const owner = sources.get(row.source)?.data.created_by
    if (owner === undefined) continue
    const list = byOwner.get(owner) ?? []
    if (list.length < MAX_FOLLOWINGS) list.push(row)
    byOwner.set(owner, list)
  }
  return byOwner
}

/** The caller's own fields of each feed. */
async function ownFields(
  ctx: Edge['ctx'],
  caller: Caller,
  user: string | undefined,
  feeds: V3Feed[],
  fields: Set<Field>,
): Promise<Record<string, FeedOwnData>> {
  const fids = feeds.map((f) => f.fid)
  const [follows, members, followings] = await Promise.all([
    Promise.all(feeds.map((f) => (user === undefined ? [] : ownFollows(ctx, user, f.ref)))),
    ctx.engine.v3Members.members(fids),
    user === undefined || !fields.has('own_followings') ? undefined : followingsByOwner(ctx, user),
  ])
  const data: Record<string, FeedOwnData> = Object.create(null)
  for (const [i, feed] of feeds.entries()) {
    const own: FeedOwnData = {}
    const member = (members.get(feed.fid) ?? []).find((m) => m.user_id === user)
    const isMember = member?.status === 'member'
    if (fields.has('own_capabilities')) {
      const follower = follows[i].some((f) => f.status === 'accepted')
      own.own_capabilities = capabilities(caller, feed, follower, isMember)
    }
    if (fields.has('own_follows')) own.own_follows = await followResponses(ctx, follows[i])
    if (fields.has('own_followings'))
      own.own_followings = await followResponses(ctx, followings?.get(feed.data.created_by) ?? [])
    if (fields.has('own_membership') && member) own.own_membership = (await memberResponses(ctx, [member]))[0]
    data[feed.fid] = own
  }
  return data
}

/** Registers OwnBatch. */
export function ownFieldRoutes(edge: Edge): void {
  const { ctx } = edge
  v3route(edge, 'POST', '/feeds/feeds/own/batch', async ({ caller, body }) => {
    const input = body as unknown as OwnBatchRequest
    const { fids, fields } = parse(input)
    // The app asks on behalf of a user (user_id); a user only for itself; anonymous callers own nothing.
    const user = caller.kind === 'anonymous' ? undefined : writer(caller, body)
    const asCaller: Caller = user === undefined ? caller : { kind: 'user', userId: user }
    const loaded = await loadFeeds(
      ctx,
      fids.map((fid, i) => feedOf(ctx, fid, `feeds[${i}]`)),
    )
    return { data: await ownFields(ctx, asCaller, user, [...loaded.values()], fields) }
  })
}
