/**
 * V3 feeds on the engine: a V3 feed `group:id` is the engine's feed of slug `group` and user id
 * `id` (the same feed a V1 client reads as `client.feed(group, id)`); its V3 data (name,
 * description, visibility, custom, creator) is a document of kind `v3_feed` keyed by the fid.
 * A feed with no document (one V1 wrote to) has its group's default visibility and is owned by its
 * id; notification feeds are private to their owner whatever their data says (`accessVisibility`).
 */
import { checkBounds, DOCUMENT_BOUNDS } from '../engine/bounds.js'
import { inputError, notFound } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import {
  canView,
  type FeedStanding,
  feedCapabilities,
  VISIBILITIES,
  type Visibility,
} from '../engine/v3-access.js'
import type { Member } from '../engine/v3-member-model.js'
import type { Pin } from '../engine/v3-pins.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import type { DocRow } from '../store/store.js'
import { defaultVisibility } from './feed-groups.js'
import { isFollowing } from './follows.js'
import type { FeedInput, FeedOwnCapability, FeedResponse, UserResponse } from './gen/spec.js'
import type { Caller } from './http.js'
import { known } from './known.js'
import { rfc3339 } from './time.js'
import { usersById } from './users.js'

export { VISIBILITIES, type Visibility }

/** A V3 feed's stored data. */
export interface FeedData {
  name: string
  description: string
  visibility: Visibility
  custom: Record<string, unknown>
  created_by: string
  filter_tags?: string[]
  location?: unknown
  deleted_at?: string
}

/** A feed's follower and following counts. */
export interface FollowCounts {
  followers: number
  following: number
}

/** A V3 feed: the engine's feed and its V3 data (`doc` absent when the feed has none yet). */
export interface V3Feed {
  fid: string
  ref: FeedRef
  data: FeedData
  doc?: DocRow
}

/** Parses a `group:id` fid into the engine's feed (a 400 naming the field when it is not one). */
export function feedOf(ctx: ServerContext, fid: unknown, field: string): FeedRef {
  if (typeof fid !== 'string' || !fid.includes(':'))
    throw inputError(`${field} must be a feed id like user:alice`, fid, field)
  const colon = fid.indexOf(':')
  return feedRefOf(ctx, fid.slice(0, colon), fid.slice(colon + 1), field)
}

/** The engine's feed for a group and id, with V3's wording when the group is not configured. */
export function feedRefOf(ctx: ServerContext, group: string, id: string, field = 'feed'): FeedRef {
  if (!ctx.engine.groups.has(group)) {
    if (ctx.engine.deletedFeedGroup(group))
      throw inputError(`feed group ${group} was deleted (RestoreFeedGroup brings it back)`, group, field)
    const known = [...ctx.engine.groups.keys()].join(', ')
    throw inputError(`feed group ${group} does not exist on this server (configured: ${known})`, group, field)
  }
  return ctx.engine.feed(group, id)
}

/** The data of a feed that has no V3 document: its group's default visibility, owned by the user its id names. */
function implicitData(ref: FeedRef, visibility: Visibility): FeedData {
  return { name: '', description: '', visibility, custom: {}, created_by: ref.userId }
}

/**
 * The visibility every permission check of a feed obeys (reads, follows, capabilities, marks):
 * a notification feed is private to its owner and the app, whatever its data says; others keep theirs.
 */
export function accessVisibility(feed: V3Feed): Visibility {
  return feed.ref.group.kind === 'notification' ? 'private' : feed.data.visibility
}

/** Loads feeds' V3 data (each fid once). */
export async function loadFeeds(ctx: ServerContext, refs: FeedRef[]): Promise<Map<string, V3Feed>> {
  const unique = [...new Map(refs.map((r) => [r.id, r])).values()]
  const docs = unique.length === 0 ? [] : await ctx.engine.v3.feeds(unique.map((r) => r.id))
  const byId = new Map(docs.map((d) => [d.id, d]))
  // Feeds without a document take their group's default (public for configured groups).
  const slugs = [...new Set(unique.filter((r) => !byId.has(r.id)).map((r) => r.slug))]
  const defaults = new Map(
    await Promise.all(
      slugs.map(async (slug) => [slug, (await defaultVisibility(ctx, slug)) ?? 'public'] as const),
    ),
  )
  return new Map(
    unique.map((ref) => {
      const doc = byId.get(ref.id)
      const data = doc ? (doc.data as unknown as FeedData) : implicitData(ref, known(defaults, ref.slug))
      return [ref.id, { fid: ref.id, ref, data, doc }]
    }),
  )
}

/** Loads one feed's V3 data. */
export async function loadFeed(ctx: ServerContext, ref: FeedRef): Promise<V3Feed> {
  return known(await loadFeeds(ctx, [ref]), ref.id)
}

/** Validates a FeedInput (GetOrCreateFeed's `data`) into stored feed data. */
export function feedData(input: FeedInput | undefined, createdBy: string): FeedData {
  const data: FeedData = {
    name: '',
    description: '',
    visibility: 'visible',
    custom: {},
    created_by: createdBy,
  }
  if (input === undefined || input === null) return data
  if (typeof input !== 'object' || Array.isArray(input))
    throw inputError('data must be an object', input, 'data')
  applyFeedChanges(data, input as Record<string, unknown>, 'data')
  if (input.visibility !== undefined) {
    if (!VISIBILITIES.includes(input.visibility as Visibility))
      throw inputError(
        `data.visibility must be one of ${VISIBILITIES.join(', ')}`,
        input.visibility,
        'data.visibility',
      )
    data.visibility = input.visibility
  }
  return data
}

/** Applies name, description, custom, filter_tags and location from `input` to `data`, validated. */
export function applyFeedChanges(data: FeedData, input: Record<string, unknown>, field: string): void {
  for (const key of ['name', 'description'] as const) {
    const v = input[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v.length > 1_000)
      throw inputError(`${field}.${key} must be a string of at most 1,000 characters`, v, `${field}.${key}`)
    data[key] = v
  }
  if (input.custom !== undefined) {
    if (input.custom === null || typeof input.custom !== 'object' || Array.isArray(input.custom))
      throw inputError(`${field}.custom must be an object`, input.custom, `${field}.custom`)
    checkBounds(input.custom, `${field}.custom`, `${field}.custom`, DOCUMENT_BOUNDS)
    data.custom = input.custom as Record<string, unknown>
  }
  if (input.filter_tags !== undefined) {
    const tags = input.filter_tags
    if (!Array.isArray(tags) || tags.length > 100 || !tags.every((t) => typeof t === 'string'))
      throw inputError(
        `${field}.filter_tags must be a list of at most 100 strings`,
        tags,
        `${field}.filter_tags`,
      )
    data.filter_tags = tags
  }
  if (input.location !== undefined) data.location = input.location
}

/** How `caller` stands to a feed, given whether one of its feeds follows it and whether it is a member. */
export function standingOf(
  caller: Caller,
  feed: V3Feed,
  isFollower: boolean,
  isMember = false,
): FeedStanding {
  const user = caller.kind === 'user' ? caller.userId : undefined
  return {
    app: caller.kind === 'server',
    user,
    owner: user !== undefined && user === feed.data.created_by,
    follower: isFollower,
    member: isMember,
  }
}

/**
 * How `caller` stands to a feed, looked up: its follows and membership are read only when the
 * feed's visibility makes them matter (followers and members feeds).
 */
export async function standing(ctx: ServerContext, caller: Caller, feed: V3Feed): Promise<FeedStanding> {
  const base = standingOf(caller, feed, false)
  const vis = accessVisibility(feed)
  if (base.user === undefined || base.owner || (vis !== 'followers' && vis !== 'members')) return base
  const members = (await ctx.engine.v3Members.members([feed.fid])).get(feed.fid) ?? []
  base.member = members.some((m) => m.user_id === base.user && m.status === 'member')
  if (vis === 'followers' && !base.member) {
    base.follower = await isFollowing(ctx, base.user, feed.ref)
  }
  return base
}

/** Whether `caller` may read the feed's activities (v3-access.ts; followers per `isFollower`). */
export function mayRead(caller: Caller, feed: V3Feed, isFollower: boolean, isMember = false): boolean {
  return canView(accessVisibility(feed), standingOf(caller, feed, isFollower, isMember))
}

/** Throws 403 unless `caller` owns the feed (its creator) or is the app. */
export function requireOwner(caller: Caller, feed: V3Feed): void {
  if (caller.kind === 'server') return
  if (caller.kind !== 'user' || caller.userId !== feed.data.created_by) throw notAllowed()
}

/** Throws 404 for a feed with no V3 data, or one deleted. */
export function requireExisting(feed: V3Feed): DocRow {
  if (!feed.doc || feed.data.deleted_at) throw notFound(`feed ${feed.fid} does not exist`)
  return feed.doc
}

/** What `caller` may do on the feed, as V3's own_capabilities (v3-access.ts's one rule). */
export function capabilities(
  caller: Caller,
  feed: V3Feed,
  isFollower: boolean,
  isMember = false,
): FeedOwnCapability[] {
  return feedCapabilities(accessVisibility(feed), standingOf(caller, feed, isFollower, isMember))
}

/**
 * What a FeedResponse shows beside the feed's own data, by fid (users by id), as a request has
 * read it already: a feed read passes its feed's facts on, so building that feed's response (and
 * its activities' `current_feed`) reads none of them again.
 */
export interface FeedFacts {
  members?: ReadonlyMap<string, Member[]>
  pins?: ReadonlyMap<string, Pin[]>
  stats?: ReadonlyMap<string, FollowCounts>
  users?: ReadonlyMap<string, UserResponse>
}

/** The fids of `fids` that `known` does not hold yet (each once). */
function unknownOf(fids: string[], known: ReadonlyMap<string, unknown> | undefined): string[] {
  return [...new Set(fids)].filter((fid) => !known?.has(fid))
}

/** `loaded` with `known`'s entries added (`known` wins: it was read first). */
function merged<V>(
  loaded: Map<string, V>,
  known: ReadonlyMap<string, V> | undefined,
): ReadonlyMap<string, V> {
  if (known) for (const [k, v] of known) loaded.set(k, v)
  return loaded
}

/**
 * Feeds as V3's FeedResponse, with follow counts and (for a caller) own capabilities. `facts`
 * the request has read already are not read again (a fid in a map is known, even with none).
 */
export async function feedResponses(
  ctx: ServerContext,
  feeds: V3Feed[],
  caller?: Caller,
  followerOf?: ReadonlySet<string>,
  facts: FeedFacts = {},
): Promise<FeedResponse[]> {
  const fids = feeds.map((f) => f.fid)
  const statsOf = unknownOf(fids, facts.stats)
  const refs = new Map(feeds.map((f) => [f.fid, f.ref]))
  const [users, counts, loadedPins, loadedMembers] = await Promise.all([
    usersById(
      ctx,
      feeds.map((f) => f.data.created_by),
      facts.users,
    ),
    Promise.all(statsOf.map((fid) => ctx.engine.followStats(known(refs, fid)))),
    ctx.engine.v3Pins.pins(unknownOf(fids, facts.pins)),
    ctx.engine.v3Members.members(unknownOf(fids, facts.members)),
  ])
  const stats = merged(new Map(statsOf.map((fid, i) => [fid, counts[i]])), facts.stats)
  const pins = merged(loadedPins, facts.pins)
  const members = merged(loadedMembers, facts.members)
  return feeds.map((f) => {
    const now = new Date().toISOString()
    const out: FeedResponse = {
      id: f.ref.userId,
      group_id: f.ref.slug,
      feed: f.fid,
      name: f.data.name,
      description: f.data.description,
      visibility: f.data.visibility,
      custom: f.data.custom,
      created_by: known(users, f.data.created_by),
      created_at: f.doc ? rfc3339(f.doc.createdAt) : now,
      updated_at: f.doc ? rfc3339(f.doc.updatedAt) : now,
      follower_count: known(stats, f.fid).followers,
      following_count: known(stats, f.fid).following,
      member_count: (members.get(f.fid) ?? []).filter((m) => m.status === 'member').length,
      pin_count: pins.get(f.fid)?.length ?? 0,
      // The engine keeps no per-feed activity count; V3 clients read it only for display.
      activity_count: 0,
    }
    if (f.data.filter_tags) out.filter_tags = f.data.filter_tags
    if (f.data.deleted_at) out.deleted_at = f.data.deleted_at
    if (caller) {
      const member = (members.get(f.fid) ?? []).some(
        (m) => caller.kind === 'user' && m.user_id === caller.userId && m.status === 'member',
      )
      out.own_capabilities = capabilities(caller, f, followerOf?.has(f.fid) ?? false, member)
    }
    return out
  })
}
