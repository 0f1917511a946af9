/** Activity bodies, stored once by sort key, with an index by foreign_id. */
import assert from 'node:assert/strict'
import type { StoredActivity } from '../store.js'
import type { MemoryState, Timeline } from './state.js'
import type { UndoLog } from './undo-log.js'

/** The store's activity bodies. */
export class Activities {
  readonly #state: Pick<MemoryState, 'activities' | 'foreignIds'>
  readonly #undo: UndoLog

  constructor(state: Pick<MemoryState, 'activities' | 'foreignIds'>, undo: UndoLog) {
    this.#state = state
    this.#undo = undo
  }

  /** The stored text of `sk`, or null when no activity has it. */
  body(sk: string): string | null {
    return this.#state.activities.get(sk)?.body ?? null
  }

  /** Inserts or replaces a body. */
  put(a: StoredActivity): void {
    const { activities, foreignIds } = this.#state
    const before = activities.get(a.sk)?.foreignId
    this.#undo.set(
      activities,
      a.sk,
      a.foreignId ? { body: a.body, foreignId: a.foreignId } : { body: a.body },
    )
    if (before === (a.foreignId || undefined)) return
    if (before !== undefined) {
      const sks = foreignIds.get(before)
      assert(sks, `memory store: foreign id ${before} has no index entry`)
      sks.delete(a.sk)
      this.#undo.record(() => sks.add(a.sk))
      if (sks.size === 0) this.#undo.delete(foreignIds, before)
    }
    if (a.foreignId) {
      let sks = foreignIds.get(a.foreignId)
      if (!sks) {
        sks = new Set()
        this.#undo.set(foreignIds, a.foreignId, sks)
      }
      const set = sks
      set.add(a.sk)
      this.#undo.record(() => set.delete(a.sk))
    }
  }

  /** Bodies for the given sort keys; missing ones are absent. */
  get(sks: string[]): Map<string, StoredActivity> {
    const out = new Map<string, StoredActivity>()
    for (const sk of sks) {
      const record = this.#state.activities.get(sk)
      if (record) out.set(sk, { sk, body: record.body })
    }
    return out
  }

  /** Sort keys of the activities in timeline `t` with foreign_id `foreignId`, newest first. */
  findIn(t: Timeline | undefined, foreignId: string): string[] {
    if (!t || foreignId === '') return []
    const sks = this.#state.foreignIds.get(foreignId)
    if (!sks) return []
    return [...sks].filter((sk) => t.entries.has(sk)).sort((a, b) => (a < b ? 1 : -1))
  }
}
