/**
 * Reactions (likes, comments, reposts): add, addChild (3 levels, as on Stream), get, filter,
 * update, delete (hard or soft) and restore, with Stream's validation and permissions, and their
 * `target_feeds`: a reaction with target feeds is also an activity (`verb` its kind, `object`
 * `SA:<activity>`, `reaction` `SR:<id>`, `foreign_id` `reaction:<id>`) in those feeds, delivered
 * and withdrawn through the engine's feed writes.
 *
 * Every change is one conditional store batch (the reaction row, its counts and its audit entry
 * together); read-modify-writes retry on a stale read. The target-feed activity is a second write
 * after it, so a crash between the two leaves a reaction whose target feeds lack its activity
 * until the reaction is next updated, deleted or restored (docs/server.md).
 */
import type { AuditEntry, DocumentStore, ReactionStore, StoredReaction } from '../store/store.js'
import { type Activity, type PreparedActivity, parseTargets } from './activity.js'
import { auditEntry } from './audit.js'
import { EddyError, inputError, notFound } from './errors.js'
import type { FeedGroup, FeedRef } from './feed-groups.js'
import { idToSk, randomId, skToId, sortKey, tailFor } from './ids.js'
import { type Links, NO_LINKS } from './links.js'
import {
  type OwnReactionInput,
  type OwnReactionOptions,
  type OwnReactionResult,
  ownReactionId,
  putOwnReaction,
} from './own-reactions.js'
import { setPath, unsetPath } from './paths.js'
import { reactionUser, requireOwnReaction, requireReactionTargets } from './policy.js'
import { filterReactions, type ReactionFilterOptions, type ReactionPage } from './reaction-filter.js'
import {
  dataOf,
  nextMicros,
  REACTION_ID,
  type ReactionChange,
  type ReactionInput,
  targetActivity,
  targetSk,
} from './reaction-input.js'
import {
  MAX_REACTION_DEPTH,
  type Reaction,
  type ReactionRecord,
  ReactionShaper,
  recordOf,
} from './reaction-model.js'
import {
  addReactionFields,
  type ReactionFlags,
  reactionFlags,
  requireKind,
  requireUserId,
} from './reaction-read.js'
import { type Reader, readableActivities } from './read-policy.js'
import { formatTime, parseTime } from './time.js'

export type { ReactionChange, ReactionInput } from './reaction-input.js'

/** Most paths one reaction patch sets and unsets. */
const MAX_PATCH_PATHS = 100

/** Dotted paths of a reaction's data to set (to a value) and to remove. */
export interface ReactionPatch {
  set?: Record<string, unknown>
  unset?: string[]
}

/** Attempts of a reaction read-modify-write before it gives up with a 409. */
const MAX_ATTEMPTS = 50
/** A UUID of any version, the form of every activity id (Eddy's own are version 1). */
const ANY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** What the engine lends the reactions: its feed groups, activity reads and feed writes. */
export interface ReactionHost {
  readonly groups: ReadonlyMap<string, FeedGroup>
  /** The audit entries to write with a change, when the audit log is on. */
  audited(make: () => AuditEntry[]): AuditEntry[] | undefined
  loadActivities(sks: string[]): Promise<Map<string, Activity>>
  /** Which of `sks` `feed` holds (for the read rule, read-policy.ts). */
  getEntries(feed: FeedRef, sks: string[]): Promise<Map<string, unknown>>
  /** Throws (503) when fan-out is refused for back-pressure; called before a change that retargets. */
  admitFanout(): void
  /** Writes `prepared` (when given) into `add` feeds and takes `sk` out of `remove` feeds, fanning out. */
  retarget(
    sk: string,
    prepared: PreparedActivity | undefined,
    add: FeedRef[],
    remove: FeedRef[],
  ): Promise<void>
}

/** What happened to a reaction, for listeners such as realtime (feed ids `slug:id`). */
export interface ReactionEvent {
  type: 'added' | 'updated' | 'deleted' | 'restored'
  reaction: ReactionRecord
  /** For `deleted`: whether it was a soft delete. */
  soft?: boolean
  /** Feeds its target-feed activity entered and left. */
  addedTo: string[]
  removedFrom: string[]
}

/** Receives reaction events after they commit; its errors are ignored. */
export type ReactionListener = (event: ReactionEvent) => void

const gone = (id: string) => notFound(`reaction ${id} does not exist (or was deleted)`)

/** The engine's reactions and audit log (`engine.reactions`); see the module comment. */
export class Reactions {
  readonly #host: ReactionHost
  readonly #store: ReactionStore
  readonly #shaper: ReactionShaper
  readonly #listeners = new Set<ReactionListener>()

  constructor(host: ReactionHost, store: ReactionStore, documents: DocumentStore) {
    this.#host = host
    this.#store = store
    this.#shaper = new ReactionShaper(store, documents)
  }

  /** Calls `listener` after each committed reaction change; returns the unsubscribe function. */
  subscribe(listener: ReactionListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Adds a reaction to an activity (`activity_id`) or to a reaction (`parent`). With `user` (a
   * user token), it is that user's and its target feeds must be the user's own or notification
   * feeds; trusted callers name the user in `user_id`. With `reader` (the same user token), the
   * activity must be one it may read (read-policy.ts): else it is refused as a missing one is.
   */
  async add(input: ReactionInput, user?: string, reader?: Reader): Promise<Reaction> {
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw inputError(
        'a reaction must be an object with kind and activity_id (or parent)',
        input,
        'reaction',
      )
    const kind = requireKind(input.kind)
    const data = dataOf(input.data ?? {}, 'data')
    const named = reactionUser(input.user_id, user)
    if (named === undefined || named === null || named === '')
      throw inputError(
        'user_id is required: name the user who reacts (a user token reacts as its user)',
        named,
        'user_id',
      )
    const userId = requireUserId(named, 'user_id')
    let id: string | undefined
    if (input.id !== undefined && input.id !== null && input.id !== '') {
      if (typeof input.id !== 'string' || !REACTION_ID.test(input.id))
        throw inputError('id must be letters, digits, - or _ (at most 255)', input.id, 'id')
      id = input.id
    }
    const targets = parseTargets(this.#host.groups, input.target_feeds, 'target_feeds')
    if (user !== undefined) requireReactionTargets(targets, user)
    const extra = input.target_feeds_extra_data
    const extraData =
      extra === undefined || extra === null ? undefined : dataOf(extra, 'target_feeds_extra_data')
    const { activityId, parent } = await this.#placeOf(input, reader)

    const micros = nextMicros()
    const tail = id === undefined ? tailFor(`r:${randomId()}`) : tailFor(`r:${id}`)
    const rk = sortKey(micros, tail)
    const reactionId = id ?? skToId(rk)
    const at = `${formatTime(micros)}Z`
    const record: ReactionRecord = {
      id: reactionId,
      kind,
      activity_id: activityId,
      user_id: userId,
      data,
      parent,
      created_at: at,
      updated_at: at,
      target_feeds: targets.map((t) => t.id),
      ...(extraData === undefined ? {} : { target_feeds_extra_data: extraData }),
    }
    const prepared = targets.length > 0 ? targetActivity(this.#host.groups, record) : undefined
    // Refused before the reaction is stored, not between it and its target-feed activity.
    if (prepared) this.#host.admitFanout()
    const row: StoredReaction = {
      id: reactionId,
      rk,
      activityId,
      parent,
      userId,
      kind,
      body: JSON.stringify(record),
      deleted: false,
    }
    const result = await this.#store.write({
      insert: [row],
      audit: this.#host.audited(() => [
        auditEntry('reaction', reactionId, 'created', userId, { kind, activity_id: activityId, parent }),
      ]),
    })
    if (result.taken.length > 0)
      throw new EddyError('ConflictException', `a reaction with id ${reactionId} already exists`)
    if (result.orphaned.length > 0)
      throw inputError('the parent reaction was deleted meanwhile', parent, 'parent')
    if (prepared) await this.#host.retarget(prepared.sk, prepared, targets, [])
    this.#emit({ type: 'added', reaction: record, addedTo: record.target_feeds, removedFrom: [] })
    const [shown] = await this.#shaper.show([row], { extraData: true })
    return shown
  }

  /**
   * Puts a user's one reaction of a kind on a node (Feeds V3's rule): the same id for every add,
   * so concurrent adds leave one; `exclusive` replaces the user's other kinds in the same batch
   * (own-reactions.ts). The node is checked as `add` checks it; the caller checks read access.
   */
  async putOwn(input: OwnReactionInput, options: OwnReactionOptions = {}): Promise<OwnReactionResult> {
    const place = await this.#placeOf(
      input.parent ? { parent: input.parent } : { activity_id: input.activity_id },
    )
    return putOwnReaction(
      {
        store: this.#store,
        shaper: this.#shaper,
        audited: (make) => this.#host.audited(make),
        admitFanout: () => this.#host.admitFanout(),
        changed: (type, reaction) => this.#emit({ type, reaction, addedTo: [], removedFrom: [] }),
        removed: async (rows) => {
          for (const row of rows) {
            const r = recordOf(row)
            const from = row.deleted ? [] : r.target_feeds
            if (from.length > 0) await this.#host.retarget(targetSk(r), undefined, [], this.#feeds(from))
            this.#emit({ type: 'deleted', reaction: r, soft: false, addedTo: [], removedFrom: from })
          }
        },
      },
      { ...input, activity_id: place.activityId, parent: place.parent },
      options,
    )
  }

  /** The user's own reaction of `kind` (and `slot`) on a node, if it is live (see `putOwn`). */
  async getOwn(user: string, node: { activity_id: string; parent?: string }, kind: string, slot?: string) {
    const id = ownReactionId(user, node.activity_id, node.parent ?? '', kind, slot)
    const row = (await this.#store.getReactions([id])).get(id)
    if (!row || row.deleted) return undefined
    const [shown] = await this.#shaper.show([row])
    return shown
  }

  /** Where a new reaction hangs: its activity and parent, both checked to exist. */
  async #placeOf(input: ReactionInput, reader?: Reader): Promise<{ activityId: string; parent: string }> {
    if (input.parent !== undefined && input.parent !== null && input.parent !== '') {
      const parentId = input.parent
      if (typeof parentId !== 'string' || parentId.length > 255)
        throw inputError('parent must be a reaction id', parentId, 'parent')
      let row = (await this.#store.getReactions([parentId])).get(parentId)
      if (!row || row.deleted) throw inputError('parent must be an existing reaction', parentId, 'parent')
      const activityId = row.activityId
      for (let level = 1; ; level++) {
        if (level >= MAX_REACTION_DEPTH)
          throw inputError(
            `reactions nest at most ${MAX_REACTION_DEPTH} levels; the parent is at level ${level}`,
            parentId,
            'parent',
          )
        if (row.parent === '') break
        row = (await this.#store.getReactions([row.parent])).get(row.parent)
        if (!row) break
      }
      // A child reaction hangs on the parent's activity: a user token may add one only where it
      // may read that activity, else the direct rule below is bypassed through any open reaction.
      if (reader !== undefined && !(await this.#readable(activityId, reader)))
        throw inputError('parent must be an existing reaction', parentId, 'parent')
      return { activityId, parent: parentId }
    }
    // A server token may react to any UUID, stored or not, as on Stream, which accepts reactions to
    // activities it has never stored (stream-python's suite reacts to random uuid4s).
    const activityId = input.activity_id
    if (typeof activityId !== 'string' || !ANY_UUID.test(activityId))
      throw inputError('activity_id must be an activity id (a UUID)', activityId, 'activity_id')
    const id = activityId.toLowerCase()
    if (reader === undefined) return { activityId: id, parent: '' }
    // A user token reacts only to an activity it may read; one it may not read is refused as a
    // missing one, and so is an unknown id, so neither tells whether a private activity exists.
    if (!(await this.#readable(id, reader)))
      throw inputError('activity_id must name an existing activity', activityId, 'activity_id')
    return { activityId: id, parent: '' }
  }

  /** Whether the stored activity `id` exists and `reader` may read it (read-policy.ts). */
  async #readable(id: string, reader: Reader): Promise<boolean> {
    const sk = idToSk(id)
    const activity = sk === undefined ? undefined : (await this.#host.loadActivities([sk])).get(sk)
    return activity !== undefined && (await readableActivities(this.#host, reader, [activity])).length > 0
  }

  /**
   * A reaction with its user, children counts and newest children; 404 when missing or deleted.
   * A soft-deleted one is shown with its `deleted_at`, as Stream does (stream-python's suite reads
   * it there before restoring); it stays out of lists, counts and target feeds. With `reader`
   * (a user token's user), only that user's own deleted reaction is shown: anyone else's is a 404,
   * as a missing one (a deletion hides a reaction's data from everyone but its author and trusted callers).
   */
  async get(id: string, reader?: string): Promise<Reaction> {
    const row = (await this.#store.getReactions([String(id)])).get(String(id))
    if (!row || (row.deleted && reader !== undefined && row.userId !== reader)) throw gone(String(id))
    const [shown] = await this.#shaper.show([row])
    if (!row.deleted) return shown
    const record = recordOf(row)
    return { ...shown, deleted_at: record.deleted_at ?? record.updated_at }
  }

  /** Live reactions by id, shown as `get` shows them; missing ones are absent (for `SR:` references). */
  async getMany(ids: string[]): Promise<Map<string, Reaction>> {
    const rows = [...(await this.#store.getReactions(ids)).values()].filter((r) => !r.deleted)
    const shown = await this.#shaper.show(rows)
    return new Map(shown.map((r) => [r.id, r]))
  }

  /** A page of reactions (see `reaction-filter.ts`); `reader` is the user token's user; `links` make its `next` (none: empty). */
  filter(options: ReactionFilterOptions, reader?: string, links: Links = NO_LINKS): Promise<ReactionPage> {
    const activity = async (id: string, flags: ReactionFlags) => {
      const sk = idToSk(id)
      const found = sk === undefined ? undefined : (await this.#host.loadActivities([sk])).get(sk)
      if (found) await this.addFields([found], flags, links)
      return found
    }
    return filterReactions({ store: this.#store, shaper: this.#shaper, activity }, options, reader, links)
  }

  /** The reaction flags of read options, or undefined when none is set (see `reaction-read.ts`). */
  flags(options: Record<string, unknown>, reader?: string): ReactionFlags | undefined {
    return reactionFlags(options, reader)
  }

  /** Adds `own_reactions`, `latest_reactions`, `reaction_counts`... to activities, in place; `links` as `filter`'s. */
  addFields(activities: Activity[], flags: ReactionFlags, links: Links = NO_LINKS): Promise<void> {
    return addReactionFields(this.#store, this.#shaper, activities, flags, links)
  }

  /**
   * Replaces a reaction's data (when given) and target feeds (an empty or missing list takes it
   * out of all). With `user`, only the user's own reaction, to allowed target feeds.
   */
  async update(id: string, change: ReactionChange, user?: string): Promise<Reaction> {
    if (change === null || typeof change !== 'object')
      throw inputError('a reaction update must be an object', change, 'body')
    const data = change.data === undefined || change.data === null ? undefined : dataOf(change.data, 'data')
    const targets = parseTargets(this.#host.groups, change.target_feeds, 'target_feeds')
    if (user !== undefined) requireReactionTargets(targets, user)
    const extra = change.target_feeds_extra_data
    const extraData =
      extra === undefined || extra === null ? undefined : dataOf(extra, 'target_feeds_extra_data')
    return this.#change(id, user, 'updated', (old) => {
      const micros = Math.max(nextMicros(), parseTime(old.updated_at, 'updated_at') + 1)
      const record: ReactionRecord = {
        ...old,
        data: data ?? old.data,
        updated_at: `${formatTime(micros)}Z`,
        target_feeds: targets.map((t) => t.id),
      }
      if (extraData !== undefined) record.target_feeds_extra_data = extraData
      return { record, deleted: false }
    })
  }

  /**
   * Sets and unsets dotted paths of a reaction's data (paths.ts: own keys only, no prototype
   * segment) in one optimistic read-modify-write, so a concurrent change to the reaction is never
   * lost; its target feeds stay. With `user`, only the user's own reaction.
   */
  async patch(id: string, change: ReactionPatch, user?: string): Promise<Reaction> {
    const set = Object.entries(change.set ?? {})
    const unset = change.unset ?? []
    if (set.length + unset.length > MAX_PATCH_PATHS)
      throw inputError(`a patch changes at most ${MAX_PATCH_PATHS} paths`, set.length + unset.length, 'set')
    return this.#change(id, user, 'updated', (old) => {
      const data = structuredClone(old.data)
      for (const [path, value] of set) setPath(data, path, value)
      for (const path of unset) unsetPath(data, path)
      const micros = Math.max(nextMicros(), parseTime(old.updated_at, 'updated_at') + 1)
      return {
        record: { ...old, data: dataOf(data, 'data'), updated_at: `${formatTime(micros)}Z` },
        deleted: false,
      }
    })
  }

  /** Deletes a reaction: soft (kept, hidden, restorable) or hard (with its children). */
  async delete(id: string, soft: boolean, user?: string): Promise<void> {
    if (soft) {
      const at = `${formatTime(nextMicros())}Z`
      await this.#change(id, user, 'soft_deleted', (old) => ({
        record: { ...old, deleted_at: at },
        deleted: true,
      }))
      return
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const row = (await this.#store.getReactions([String(id)])).get(String(id))
      if (!row) throw gone(String(id))
      const record = recordOf(row)
      if (user !== undefined) requireOwnReaction(record, user)
      if (!row.deleted && record.target_feeds.length > 0) this.#host.admitFanout()
      // Removed only as read: of two deletes at once one wins, the other reads again and gets a 404.
      const result = await this.#store.write({
        remove: [{ id: row.id, expect: row.body }],
        audit: this.#host.audited(() => [
          auditEntry('reaction', row.id, 'deleted', user ?? record.user_id, { kind: record.kind }),
        ]),
      })
      if (!result.applied) continue
      for (const removed of result.removed) {
        const r = recordOf(removed)
        // A soft-deleted reaction left its target feeds already.
        const from = removed.deleted ? [] : r.target_feeds
        if (from.length > 0) await this.#host.retarget(targetSk(r), undefined, [], this.#feeds(from))
        this.#emit({ type: 'deleted', reaction: r, soft: false, addedTo: [], removedFrom: from })
      }
      return
    }
    throw new EddyError(
      'ConflictException',
      `reaction ${id} kept changing while it was being deleted; try again`,
    )
  }

  /** Brings back a soft-deleted reaction (and its target-feed activity). */
  async restore(id: string, user?: string): Promise<Reaction> {
    return this.#change(id, user, 'restored', (old, deleted) => {
      // Stream answers a restore of a live reaction with DoesNotExist: there is no deleted one.
      if (!deleted)
        throw notFound(`reaction ${id} is not soft-deleted; only a soft-deleted reaction can be restored`)
      // Restoring delivers again: a user may do that only to feeds it may write itself.
      if (user !== undefined) requireReactionTargets(this.#feeds(old.target_feeds), user)
      const { deleted_at: _, ...live } = old
      return { record: live, deleted: false }
    })
  }

  /**
   * One optimistic step on a stored reaction: read, check ownership, compute, write only if the
   * row is unchanged (else read again), then move its target-feed activity to match.
   */
  async #change(
    id: string,
    user: string | undefined,
    action: 'updated' | 'soft_deleted' | 'restored',
    next: (old: ReactionRecord, deleted: boolean) => { record: ReactionRecord; deleted: boolean },
  ): Promise<Reaction> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const row = (await this.#store.getReactions([String(id)])).get(String(id))
      if (!row || (row.deleted && action !== 'restored')) throw gone(String(id))
      const old = recordOf(row)
      if (user !== undefined) requireOwnReaction(old, user)
      const { record, deleted } = next(old, row.deleted)
      const prepared =
        !deleted && record.target_feeds.length > 0 ? targetActivity(this.#host.groups, record) : undefined
      if (record.target_feeds.length > 0 || (!row.deleted && old.target_feeds.length > 0)) {
        this.#host.admitFanout()
      }
      const body = JSON.stringify(record)
      const result = await this.#store.write({
        update: [{ id: row.id, expect: row.body, body, deleted }],
        audit: this.#host.audited(() => [
          auditEntry(
            'reaction',
            row.id,
            action,
            user ?? old.user_id,
            action === 'updated' ? { previous: old } : {},
          ),
        ]),
      })
      if (!result.applied) continue
      const before = new Set(row.deleted ? [] : old.target_feeds)
      const after = new Set(deleted ? [] : record.target_feeds)
      const addedTo = [...after].filter((f) => !before.has(f))
      const removedFrom = [...before].filter((f) => !after.has(f))
      if (prepared || removedFrom.length > 0)
        await this.#host.retarget(targetSk(record), prepared, this.#feeds(addedTo), this.#feeds(removedFrom))
      const type = action === 'soft_deleted' ? 'deleted' : action
      this.#emit({
        type,
        reaction: record,
        soft: type === 'deleted' ? true : undefined,
        addedTo,
        removedFrom,
      })
      const [shown] = await this.#shaper.show([{ ...row, body, deleted }], { extraData: true })
      return shown
    }
    throw new EddyError(
      'ConflictException',
      `reaction ${id} kept changing while it was being written; try again`,
    )
  }

  #feeds(ids: string[]): FeedRef[] {
    return parseTargets(this.#host.groups, ids, 'target_feeds')
  }

  #emit(event: ReactionEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener (realtime, a test) must not fail the write that already committed.
      }
    }
  }
}
