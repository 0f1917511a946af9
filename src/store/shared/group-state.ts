/**
 * Group state of aggregated and notification feeds: the one statement of its rules. Every store
 * keeps the same state per group (an id, the first and last sort keys, the activity and actor
 * counts, the seen and read flags); how it keeps it differs.
 *
 * - **G1 Keys.** A grouped entry belongs to the group `group ?? ''`, written by the actor
 *   `actor ?? ''`. A group is named once, by the entry that creates it (`groupId ?? sk`), and
 *   keeps that id while it lives, whichever entries come and go.
 * - **G2 Joining.** Only an entry new to the feed joins its group (an add of a held entry
 *   changes nothing: seam rule 2). Joining counts the activity, counts the actor when the group
 *   held no entry of it, widens `firstSk`/`lastSk` to the entry, and makes the group unseen and
 *   unread again (notification semantics; aggregated feeds ignore the flags).
 * - **G3 Leaving.** Only an entry really removed leaves (by sort key, by origin, or trimmed from
 *   a flat feed). Leaving uncounts the activity, and the actor when it was the actor's last
 *   entry in the group; a bound that was the entry moves to the nearest remaining entry; the
 *   flags stay. A group left with no entry is dropped with its flags and id: a group that comes
 *   back later is new (G1, G2).
 * - **G4 Trims.** A batch's adds may give a feed a `maxLength` (a positive safe integer;
 *   several in one batch: the smallest). After the batch's adds, removes and removals by origin,
 *   a grouped feed keeps its newest `maxLength` groups by `lastSk` and drops the others whole,
 *   entries included (no counter of a kept group moves); a flat feed keeps its newest entries.
 * - **G5 Marks.** A read may mark groups seen and/or read: `true` marks every group, a list marks
 *   every group whose id is listed (unknown ids are ignored). The unseen and unread counts are
 *   the groups not seen, not read, taken before the read's marks.
 * - **G6 Order.** Groups page newest first by `lastSk`. A group-id cursor stands for the newest
 *   `lastSk` of the feed's groups with that id, else for the sort key of the activity it names.
 *
 * Who states what: the memory store calls these functions directly (`memory/groups.ts`,
 * `memory/timelines.ts`); the SQL of `sqlite/sqlite-timeline-writer.ts` and
 * `postgres/postgres-timeline-writer.ts` and the Lua of `redis/lua.ts` keep the same state
 * incrementally, each step marked with its rule, using {@link groupKeyOf}, {@link actorOf},
 * {@link groupIdOf}, {@link TrimPlan} and
 * {@link isNewActor}/{@link isGoneActor} on their TypeScript side and {@link LUA_GROUP_FIELDS}
 * in Lua. `src/testing/contract/group-state.ts` pins every rule on every backend against
 * {@link groupCounters}, so a faster implementation is free to change anything but the result.
 */
import type { EntryShape, GroupRow } from '../store.js'

/** G1: the group key of a grouped entry (a missing one is the empty key). */
export function groupKeyOf(shape: Pick<EntryShape, 'group'>): string {
  return shape.group ?? ''
}

/** G1: the actor a grouped entry counts for (a missing one is the empty actor). */
export function actorOf(shape: Pick<EntryShape, 'actor'>): string {
  return shape.actor ?? ''
}

/** G1: the id of a group the entry creates (the engine always names it; the sort key stands in). */
export function groupIdOf(entry: { groupId?: string; sk: string }): string {
  return entry.groupId ?? entry.sk
}

/** The state every store keeps per group: a {@link GroupRow} without its key and activities. */
export type GroupState = Pick<GroupRow, 'id' | 'firstSk' | 'lastSk' | 'activityCount' | 'actorCount'>

/**
 * G2/G3 as a definition: a group's counters are what its entries give. `sks` are the group's
 * entries in ascending order (at least one), `actors` counts its entries per actor, `id` is the
 * id it was created with. Incremental stores must always agree with this.
 */
export function groupCounters(
  id: string,
  sks: readonly string[],
  actors: ReadonlyMap<string, number>,
): GroupState {
  return {
    id,
    firstSk: sks[0],
    lastSk: sks[sks.length - 1],
    activityCount: sks.length,
    actorCount: actors.size,
  }
}

/** G2: an actor counts for the group when its entry tally goes from none to `after`'s first entries. */
export function isNewActor(after: number, added: number): boolean {
  return after === added
}

/** G3: an actor stops counting when its entry tally reaches zero. */
export function isGoneActor(after: number): boolean {
  return after <= 0
}

/** G2: the flags a group has after an entry joined it (whatever they were). */
export const FLAGS_AFTER_JOIN = { seen: false, read: false } as const

/** G5: whether a mark `target` (all, or a list of ids) marks the group with id `id`. */
export function marks(target: true | readonly string[], id: string): boolean {
  return target === true || target.includes(id)
}

/**
 * G4: `maxLength` itself, or throws unless it is a positive safe integer (the engine's feed
 * groups allow 1 and up; a feed kept empty is no feed, and stores used to disagree on 0).
 */
export function checkMaxLength(maxLength: number): number {
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new Error(`maxLength must be a positive integer, got ${maxLength}`)
  }
  return maxLength
}

/** G4: a feed's trim: keep its newest `keep` entries, or groups when `grouped`. */
export interface Trim {
  keep: number
  grouped: boolean
}

/** G4: the trims a batch asks for, per feed the smallest `maxLength` its adds give. */
export class TrimPlan {
  readonly #trims = new Map<string, Trim>()

  /** Notes an added entry's `maxLength` (checked by {@link checkMaxLength}). */
  note(feed: string, shape: Pick<EntryShape, 'kind' | 'maxLength'>): void {
    if (shape.maxLength === undefined) return
    const keep = checkMaxLength(shape.maxLength)
    const seen = this.#trims.get(feed)
    if (!seen || keep < seen.keep) this.#trims.set(feed, { keep, grouped: shape.kind !== 'flat' })
  }

  /** How many feeds have a trim. */
  get size(): number {
    return this.#trims.size
  }

  /** Each feed's trim. */
  entries(): IterableIterator<[string, Trim]> {
    return this.#trims.entries()
  }
}

/** The plan of a batch's adds (see {@link TrimPlan}). */
export function trimsOf(add: readonly (EntryShape & { feed: string })[]): TrimPlan {
  const plan = new TrimPlan()
  for (const entry of add) plan.note(entry.feed, entry)
  return plan
}

/**
 * The order of {@link GroupState}'s fields in Redis's group tuple (`g<key>` → JSON array), so
 * that the Lua and its reader name each slot as the state does.
 */
export const LUA_GROUP_FIELDS = ['id', 'firstSk', 'lastSk', 'activityCount', 'actorCount'] as const

/** Lua locals naming the slots of {@link LUA_GROUP_FIELDS} (1-based), generated for `redis/lua.ts`. */
export function luaGroupFieldLocals(): string {
  const names = LUA_GROUP_FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase())
  return `local ${names.join(', ')} = ${LUA_GROUP_FIELDS.map((_, i) => i + 1).join(', ')}`
}
