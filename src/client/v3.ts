/**
 * `client.v3` of the embedded client: the Feeds V3 concepts the engine keeps beside V1's, so an
 * app that embeds Eddy reaches what `eddy serve`'s `/api/v2` serves without going over HTTP. The
 * embedded client is trusted like a server token (it names the acting user where one matters, and
 * applies no per-user permission: that is the app's to decide). Each method is one engine use
 * case; the rules (bounds, versioned writes, defaults) live there, once. Feeds are named by V3's
 * fid, `group:id`, the very feed `client.feed(group, id)` reads. Comments (with threads) and
 * bookmarks are the engine's reactions: `client.reactions` makes and reads them (docs/v3.md).
 */
import type { Engine } from '../engine/engine.js'
import { inputError } from '../engine/errors.js'
import type { FeedGroupOptions, FeedRef } from '../engine/feed-groups.js'
import { type FollowState, followExtras } from '../engine/v3-follow-model.js'
import { type Member, type MemberChanges, memberInputs } from '../engine/v3-member-model.js'
import type { Pin } from '../engine/v3-pins.js'

export type { FollowState, Member, MemberChanges, Pin }

/** A notification feed's status: unseen and unread group counts, seen and read ids of its newest groups. */
export type NotificationStatus = Awaited<ReturnType<Engine['notificationStatus']>>
/** A defined feed group, and whether the call made it. */
export type DefinedGroup = Awaited<ReturnType<Engine['defineFeedGroup']>>

/** One block: the blocked user's id and when (`at`). */
export type Block = Awaited<ReturnType<Engine['standing']['block']>>

/** A feed as V3 names it: `group:id` (e.g. `notification:alice`), or a feed handle. */
export type V3FeedId = string | { id: string }

/** A bookmark folder: its id, owner, name, custom data and times. */
export type BookmarkFolder = Awaited<ReturnType<Engine['v3']['folders']['create']>>

/** Marks for {@link EddyV3.markNotifications}: `true` for every group, or group ids. */
export interface NotificationMarks {
  seen?: true | string[]
  read?: true | string[]
}

/** Feeds V3 on the embedded client (`client.v3`): follow requests, pins, members, bookmark folders, notification status, feed groups, user deactivation and blocks. */
export class EddyV3 {
  readonly #engine: Engine

  constructor(engine: Engine) {
    this.#engine = engine
  }

  /** The engine's feed of a fid (`group:id`), with the engine's error for an unknown group. */
  feedRef(fid: V3FeedId): FeedRef {
    const id = fid !== null && typeof fid === 'object' ? fid.id : fid
    if (typeof id !== 'string' || !id.includes(':'))
      throw inputError('a V3 feed id looks like group:id (e.g. user:alice)', fid, 'feed')
    const colon = id.indexOf(':')
    return this.#engine.feed(id.slice(0, colon), id.slice(colon + 1))
  }

  /**
   * A notification feed's status, as V3's `notification_status`: unseen and unread group counts,
   * and which of its newest `limit` groups (at most 100) are seen and read.
   */
  async notificationStatus(feed: V3FeedId, limit?: number): Promise<NotificationStatus> {
    return this.#engine.notificationStatus(this.feedRef(feed), limit)
  }

  /** Marks a notification feed's groups seen and/or read (V3's MarkActivity; a V1 read's mark_seen/mark_read). */
  async markNotifications(feed: V3FeedId, marks: NotificationMarks): Promise<void> {
    return this.#engine.markNotifications(this.feedRef(feed), marks)
  }

  /**
   * Asks to follow `target` from `source` (for a feed whose follows need approval, V3's
   * `followers` visibility): pending until `acceptFollow`; an accepted follow stays as it is.
   * `extras`: custom data, push preference (`all`/`none`) and follower role, checked by the engine.
   */
  async requestFollow(
    source: V3FeedId,
    target: V3FeedId,
    extras: Record<string, unknown> = {},
  ): Promise<FollowState> {
    return this.#engine.v3Follows.request(this.feedRef(source), this.feedRef(target), followExtras(extras))
  }

  /** Accepts `source`'s request to follow `target`: the engine's follow edge is made (copying history). */
  async acceptFollow(source: V3FeedId, target: V3FeedId, role?: string): Promise<FollowState> {
    return this.#engine.v3Follows.accept(this.feedRef(source), this.feedRef(target), role)
  }

  /** Rejects `source`'s request to follow `target`, or removes it as a follower; recorded as rejected. */
  async rejectFollow(source: V3FeedId, target: V3FeedId): Promise<FollowState> {
    return this.#engine.v3Follows.reject(this.feedRef(source), this.feedRef(target))
  }

  /** The pending requests to follow `target`, oldest first (at most `limit`, default 100). */
  async followRequests(target: V3FeedId, limit = 100): Promise<FollowState[]> {
    return this.#engine.v3Follows.pending(this.feedRef(target).id, limit)
  }

  /** The V3 state of the follow `source` → `target` (status, custom, role), if V3 keeps one. */
  async followState(source: V3FeedId, target: V3FeedId): Promise<FollowState | undefined> {
    const [s, t] = [this.feedRef(source).id, this.feedRef(target).id]
    return (await this.#engine.v3Follows.states([{ source: s, target: t }])).get(`${s} ${t}`)
  }

  /** The activities pinned to a feed, as `{ activity_id, user_id, created_at }` records. */
  async pins(feed: V3FeedId): Promise<Pin[]> {
    const fid = this.feedRef(feed).id
    return (await this.#engine.v3Pins.pins([fid])).get(fid) ?? []
  }

  /** Pins an activity (its V3 id) to a feed as `userId`; pinning it again returns the earlier pin. */
  async pin(feed: V3FeedId, activityId: string, userId: string): Promise<Pin> {
    return this.#engine.v3Pins.pin(this.feedRef(feed).id, activityId, userId)
  }

  /** Unpins an activity from a feed (404 when it is not pinned); resolves with the removed pin. */
  async unpin(feed: V3FeedId, activityId: string): Promise<Pin> {
    return this.#engine.v3Pins.unpin(this.feedRef(feed).id, activityId)
  }

  /** A feed's members (and pending or rejected invites). */
  async members(feed: V3FeedId): Promise<Member[]> {
    const fid = this.feedRef(feed).id
    return (await this.#engine.v3Members.members([fid])).get(fid) ?? []
  }

  /**
   * Changes a feed's members: `upsert` adds or updates them, `remove` removes them, `set` makes
   * them the whole list. Each `{ user_id, role?, custom?, invite? }` (an invite waits for
   * `answerInvite`), checked by the engine (at most 100 a call, 1,000 a feed).
   */
  async updateMembers(
    feed: V3FeedId,
    operation: 'upsert' | 'remove' | 'set',
    members: { user_id: string; role?: string; custom?: Record<string, unknown>; invite?: boolean }[],
  ): Promise<MemberChanges> {
    return this.#engine.v3Members.update(this.feedRef(feed).id, operation, memberInputs(members))
  }

  /** The invited user accepts (`true`) or rejects its invite to a feed; resolves with the member. */
  async answerInvite(feed: V3FeedId, userId: string, accept: boolean): Promise<Member> {
    return this.#engine.v3Members.answer(this.feedRef(feed).id, userId, accept)
  }

  /** A user's bookmark folders, oldest first (V3's QueryBookmarkFolders for one user). */
  async bookmarkFolders(userId: string): Promise<BookmarkFolder[]> {
    return this.#engine.v3.folders.list(userId)
  }

  /** Makes a bookmark folder for `userId`, or returns its folder of that name (names are unique per user). */
  async createBookmarkFolder(
    userId: string,
    name: string,
    custom: Record<string, unknown> = {},
  ): Promise<BookmarkFolder> {
    return this.#engine.v3.folders.create(userId, name, custom)
  }

  /** Renames a folder or replaces its custom data; with `userId`, only that user's folder (else 404). */
  async updateBookmarkFolder(
    id: string,
    change: { name?: string; custom?: Record<string, unknown> },
    userId?: string,
  ): Promise<BookmarkFolder> {
    return this.#engine.v3.folders.update(userId, id, change)
  }

  /** Deletes a folder (its bookmarks stay, without a folder); with `userId`, only that user's (else 404). */
  async deleteBookmarkFolder(id: string, userId?: string): Promise<BookmarkFolder> {
    return this.#engine.v3.folders.delete(userId, id)
  }

  /**
   * Defines a feed group at run time (V3's GetOrCreateFeedGroup), stored so every engine on the
   * store learns it; resolves with the group and whether this call made it.
   */
  async defineFeedGroup(slug: string, options: FeedGroupOptions): Promise<DefinedGroup> {
    return this.#engine.defineFeedGroup(slug, options)
  }

  /**
   * Soft-deletes a feed group defined at run time (V3's DeleteFeedGroup): every engine on the store
   * that loads the definitions forgets it, and its feeds keep their data until it is restored.
   */
  async deleteFeedGroup(slug: string): Promise<void> {
    await this.#engine.deleteFeedGroup(slug)
  }

  /** Restores a soft-deleted feed group as it was (V3's RestoreFeedGroup), with its feeds. */
  async restoreFeedGroup(slug: string): Promise<void> {
    await this.#engine.restoreFeedGroup(slug)
  }

  /** Deactivates users (1 to 100, each must exist): their tokens are refused by `eddy serve` until reactivated. Resolves with each one's deactivation time. */
  async deactivateUsers(userIds: string[], by?: string): Promise<Map<string, string>> {
    return this.#engine.standing.deactivate(userIds, by)
  }

  /** Reactivates users (1 to 100, each must exist): their tokens work again. */
  async reactivateUsers(userIds: string[]): Promise<void> {
    await this.#engine.standing.reactivate(userIds)
  }

  /** The deactivated users among these, with their deactivation times. */
  async deactivatedUsers(userIds: string[]): Promise<Map<string, string>> {
    return this.#engine.standing.deactivated(userIds)
  }

  /** `userId` blocks `blockedId` (V3's BlockUsers; at most 1,000 blocks a user); resolves with the block. */
  async block(userId: string, blockedId: string): Promise<Block> {
    return this.#engine.standing.block(userId, blockedId)
  }

  /** `userId` unblocks `blockedId`. */
  async unblock(userId: string, blockedId: string): Promise<void> {
    return this.#engine.standing.unblock(userId, blockedId)
  }

  /** The users `userId` blocks, oldest block first. */
  async blocks(userId: string): Promise<Block[]> {
    return this.#engine.standing.blocks(userId)
  }
}
