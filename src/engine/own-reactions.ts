/**
 * A user's own reaction of one kind on one node (an activity's top level or a reaction), as
 * Feeds V3 keeps them: one per user, node and kind (and `slot`, e.g. a bookmark's folder).
 *
 * Its id is derived from the user, node, kind and slot, so the store's taken-id rule (R1 in
 * reaction-store.ts) refuses a second concurrent insert: two adds at once leave one reaction.
 * With `exclusive`, the user's reactions of other kinds on the node go in the same batch as the
 * insert (each removed only while unchanged); two exclusive adds of different kinds at once can
 * both commit, so each then re-reads the node and the newest reaction wins: an older one is
 * removed by the writer of the newer or by its own writer, whichever sees both.
 */
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditEntry, ReactionStore, StoredReaction } from '../store/store.js'
import { auditEntry } from './audit.js'
import { EddyError, inputError } from './errors.js'
import { sortKey, tailFor } from './ids.js'
import { dataOf, nextMicros } from './reaction-input.js'
import { type Reaction, type ReactionRecord, type ReactionShaper, recordOf } from './reaction-model.js'
import { requireKind, requireUserId } from './reaction-read.js'
import { formatTime } from './time.js'

/** Attempts before an own-reaction write gives up with a 409. */
const MAX_ATTEMPTS = 50
/** Rows read per page when listing a user's reactions on a node. */
const PAGE = 500

/** An own reaction to put: who, what kind, on which node, with what data. */
export interface OwnReactionInput {
  kind: string
  user_id: string
  /** The engine activity id (for a reaction on a reaction: the parent's activity). */
  activity_id: string
  /** The reaction it answers, or '' for one on the activity itself. */
  parent: string
  data?: Record<string, unknown>
  /** Tells apart several reactions of one kind by a user on a node (a bookmark's folder). */
  slot?: string
}

/** How an own reaction is put. */
export interface OwnReactionOptions {
  /** An existing one takes the new data (else it is returned unchanged). */
  update?: boolean
  /** The user's other reactions on the node go, except those of these kinds. */
  exclusive?: { keep: string[] }
}

/** What putting an own reaction did. */
export interface OwnReactionResult {
  reaction: Reaction
  created: boolean
  /** The user's reactions of other kinds it replaced (with `exclusive`). */
  replaced: ReactionRecord[]
}

/** What the own-reaction use cases need from the engine's reactions. */
export interface OwnReactionHost {
  store: ReactionStore
  shaper: ReactionShaper
  audited(make: () => AuditEntry[]): AuditEntry[] | undefined
  /** Takes removed rows' target-feed activities out of their feeds and tells listeners. */
  removed(rows: StoredReaction[]): Promise<void>
  /** Tells listeners of an added or updated reaction. */
  changed(type: 'added' | 'updated', record: ReactionRecord): void
  /** Throws (503) when fan-out is refused; called before removing reactions with target feeds. */
  admitFanout(): void
}

/** The id of `user`'s reaction of `kind` (and `slot`) on a node: the same for every add. */
export function ownReactionId(
  user: string,
  activityId: string,
  parent: string,
  kind: string,
  slot = '',
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([user, activityId, parent, kind, slot]))
    .digest('hex')
  return `own-${digest.slice(0, 40)}`
}

/** Every live reaction of `user` on a node, oldest first, paged through the store. */
export async function ownOnNode(
  store: ReactionStore,
  user: string,
  activityId: string,
  parent: string,
): Promise<StoredReaction[]> {
  const all: StoredReaction[] = []
  let gt: string | undefined
  for (;;) {
    const [page] = await store.listReactions([
      { activityId, parent, userId: user, limit: PAGE, ascending: true, ...(gt ? { gt } : {}) },
    ])
    all.push(...page)
    if (page.length < PAGE) return all
    gt = page.at(-1)?.rk
  }
}

/** Puts `input` as its user's one reaction of its kind on its node (see the module comment). */
export async function putOwnReaction(
  host: OwnReactionHost,
  input: OwnReactionInput,
  options: OwnReactionOptions = {},
): Promise<OwnReactionResult> {
  const kind = requireKind(input.kind)
  const user = requireUserId(input.user_id, 'user_id')
  const data = dataOf(input.data ?? {}, 'data')
  const { activity_id: activityId, parent } = input
  const id = ownReactionId(user, activityId, parent, kind, input.slot)
  const keep = new Set(options.exclusive?.keep ?? [])
  const isOther = (r: StoredReaction) => r.id !== id && r.kind !== kind && !keep.has(r.kind)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = (await host.store.getReactions([id])).get(id)
    const others = options.exclusive
      ? (await ownOnNode(host.store, user, activityId, parent)).filter(isOther)
      : []
    if (existing && !existing.deleted && !options.update && others.length === 0) {
      const [reaction] = await host.shaper.show([existing], { extraData: true })
      return { reaction, created: false, replaced: [] }
    }
    if (others.some((r) => recordOf(r).target_feeds.length > 0)) host.admitFanout()
    const micros = nextMicros()
    const at = `${formatTime(micros)}Z`
    let row: StoredReaction
    let record: ReactionRecord
    if (existing) {
      const old = recordOf(existing)
      const { deleted_at: _, ...live } = old
      record = { ...live, data: options.update || existing.deleted ? data : old.data, updated_at: at }
      row = { ...existing, body: JSON.stringify(record), deleted: false }
    } else {
      record = {
        id,
        kind,
        activity_id: activityId,
        user_id: user,
        data,
        parent,
        created_at: at,
        updated_at: at,
        target_feeds: [],
      }
      row = {
        id,
        rk: sortKey(micros, tailFor(`r:${id}`)),
        activityId,
        parent,
        userId: user,
        kind,
        body: JSON.stringify(record),
        deleted: false,
      }
    }
    const result = await host.store.write({
      ...(existing
        ? { update: [{ id, expect: existing.body, body: row.body, deleted: false }] }
        : { insert: [row] }),
      remove: others.map((r) => ({ id: r.id, expect: r.body })),
      audit: host.audited(() => [
        auditEntry('reaction', id, existing ? 'updated' : 'created', user, {
          kind,
          activity_id: activityId,
          parent,
        }),
        ...others.map((r) => auditEntry('reaction', r.id, 'deleted', user, { kind: r.kind })),
      ]),
    })
    // A concurrent add took the id, or a reaction changed meanwhile: read again.
    if (!result.applied) {
      if (result.orphaned.length > 0)
        throw inputError('the parent reaction was deleted meanwhile', parent, 'parent')
      // Writers that keep taking each other's reactions away back off, so one gets through.
      await sleep(Math.random() * Math.min(50, 2 ** attempt))
      continue
    }
    await host.removed(result.removed)
    host.changed(existing ? 'updated' : 'added', record)
    if (options.exclusive) await settle(host, row, isOther)
    const [reaction] = await host.shaper.show([row], { extraData: true })
    return { reaction, created: !existing, replaced: result.removed.map(recordOf) }
  }
  throw new EddyError(
    'ConflictException',
    `reaction ${id} kept changing while it was being written; try again`,
  )
}

/**
 * After an exclusive put commits: the newest of the user's exclusive reactions on the node
 * stays. Older ones go; if a newer one exists, this one goes.
 */
async function settle(
  host: OwnReactionHost,
  mine: StoredReaction,
  isOther: (r: StoredReaction) => boolean,
): Promise<void> {
  const all = await ownOnNode(host.store, mine.userId, mine.activityId, mine.parent)
  const others = all.filter(isOther)
  if (others.length === 0) return
  const doomed = others.some((r) => r.rk > mine.rk) ? [mine] : others.filter((r) => r.rk < mine.rk)
  for (const r of doomed) {
    const current = r === mine ? (await host.store.getReactions([mine.id])).get(mine.id) : r
    if (!current || current.deleted) continue
    const result = await host.store.write({ remove: [{ id: current.id, expect: current.body }] })
    // Stale: someone else changed or removed it meanwhile, and settles it from there.
    if (result.applied) await host.removed(result.removed)
  }
}
