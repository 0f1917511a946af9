/**
 * Timeline writes: entries added when absent and removed when present (which is what makes
 * every write idempotent), group state kept exact, and feeds trimmed to a maximum length. An
 * add or a remove costs a few map operations and one binary-searched array insertion or
 * removal, whatever the feed's size; every change is logged for undo.
 */
import { actorOf, groupIdOf, groupKeyOf, type TrimPlan } from '../shared/group-state.js'
import type { EntryWrite } from '../store.js'
import { dropGroup, joinGroup, leaveGroup } from './groups.js'
import { insertKey, removeKey } from './sorted.js'
import type { EntryRecord, Timeline } from './state.js'
import type { UndoLog } from './undo-log.js'

/** Removals up to this many entries splice the order array; more rebuild it in one pass. */
const SPLICE_LIMIT = 32

/** Adds, removes and trims entries of the store's timelines. */
export class Timelines {
  readonly #feeds: Map<string, Timeline>
  readonly #undo: UndoLog

  constructor(feeds: Map<string, Timeline>, undo: UndoLog) {
    this.#feeds = feeds
    this.#undo = undo
  }

  /** The timeline of `feed`, if it ever had an entry. */
  get(feed: string): Timeline | undefined {
    return this.#feeds.get(feed)
  }

  #open(feed: string): Timeline {
    let t = this.#feeds.get(feed)
    if (!t) {
      t = {
        entries: new Map(),
        order: [],
        groups: new Map(),
        groupOrder: [],
        byId: new Map(),
        unseen: new Set(),
        unread: new Set(),
      }
      this.#undo.set(this.#feeds, feed, t)
    }
    return t
  }

  /** Adds an entry when the feed does not hold `sk` yet (its first origin is kept). */
  add(w: EntryWrite): void {
    const t = this.#open(w.feed)
    if (t.entries.has(w.sk)) return
    if (w.kind === 'flat') {
      this.#undo.set(t.entries, w.sk, { origin: w.origin })
      insertKey(t.order, w.sk, this.#undo)
      return
    }
    const group = groupKeyOf(w)
    const actor = actorOf(w)
    this.#undo.set(t.entries, w.sk, { origin: w.origin, group, actor })
    insertKey(t.order, w.sk, this.#undo)
    joinGroup(t, group, w.sk, actor, groupIdOf(w), this.#undo)
  }

  /** Removes entry `sk` of `feed` when present (and, with `origin`, only if it came through it). */
  remove(feed: string, sk: string, origin?: string): void {
    const t = this.#feeds.get(feed)
    const entry = t?.entries.get(sk)
    if (!t || !entry) return
    if (origin !== undefined && entry.origin !== origin) return
    this.#undo.delete(t.entries, sk)
    removeKey(t.order, sk, this.#undo)
    if (entry.group !== undefined) leaveGroup(t, entry.group, sk, entry.actor ?? '', this.#undo)
  }

  /** Removes every entry of `feed` that came through `origin`. */
  removeByOrigin(feed: string, origin: string): void {
    const t = this.#feeds.get(feed)
    if (!t) return
    // A scan of the feed, as in SQLite (no origin index: fan-out would pay for it on every entry).
    const leaving: [string, EntryRecord][] = []
    for (const [sk, entry] of t.entries) if (entry.origin === origin) leaving.push([sk, entry])
    const gone: string[] = []
    for (const [sk, entry] of leaving) {
      gone.push(sk)
      this.#undo.delete(t.entries, sk)
      if (entry.group !== undefined) leaveGroup(t, entry.group, sk, entry.actor ?? '', this.#undo)
    }
    this.#removeFromOrder(t, gone)
  }

  /** Applies a batch's trims (G4), once its adds and removals are done. */
  applyTrims(plan: TrimPlan): void {
    for (const [feed, { keep, grouped }] of plan.entries()) this.trim(feed, keep, grouped)
  }

  /**
   * Keeps the newest `keep` entries of `feed` (flat), or its newest `keep` groups with their
   * entries (grouped: whole groups go, so no counter needs an update).
   */
  trim(feed: string, keep: number, grouped: boolean): void {
    const t = this.#feeds.get(feed)
    if (!t) return
    if (grouped) {
      const excess = t.groupOrder.length - keep
      if (excess <= 0) return
      const gone: string[] = []
      for (const group of t.groupOrder.slice(0, excess)) {
        dropGroup(t, group, this.#undo)
        for (const sk of group.sks) {
          this.#undo.delete(t.entries, sk)
          gone.push(sk)
        }
      }
      this.#removeFromOrder(t, gone)
      return
    }
    const excess = t.order.length - keep
    if (excess <= 0) return
    // The oldest entries lead the order array: cut them off in place.
    const gone = t.order.splice(0, excess)
    const order = t.order
    this.#undo.record(() => {
      for (let i = 0; i < gone.length; i += 10_000) order.splice(i, 0, ...gone.slice(i, i + 10_000))
    })
    for (const sk of gone) {
      const entry = t.entries.get(sk)
      if (!entry) continue
      this.#undo.delete(t.entries, sk)
      // A flat trim of a feed that also holds grouped entries keeps their groups exact.
      if (entry.group !== undefined) leaveGroup(t, entry.group, sk, entry.actor ?? '', this.#undo)
    }
  }

  #removeFromOrder(t: Timeline, sks: string[]): void {
    if (sks.length <= SPLICE_LIMIT) {
      for (const sk of sks) removeKey(t.order, sk, this.#undo)
      return
    }
    const gone = new Set(sks)
    // The old array itself is put back on undo, so earlier inverses that hold it stay valid.
    this.#undo.assign(
      t,
      'order',
      t.order.filter((sk) => !gone.has(sk)),
    )
  }
}
