/** The audit log in memory: an array in log order, each entry's `seq` its position plus one. */
import type { AuditEntry, AuditQuery, StoredAuditEntry } from '../store.js'
import type { UndoLog } from './undo-log.js'

/** Appends and lists audit entries; appends happen inside the store's atomic writes. */
export class MemoryAudit {
  readonly #log: StoredAuditEntry[]
  readonly #undo: UndoLog

  constructor(log: StoredAuditEntry[], undo: UndoLog) {
    this.#log = log
    this.#undo = undo
  }

  /** Appends entries; only inside a write (the undo log takes them back if it fails). */
  add(entries: AuditEntry[]): void {
    for (const entry of entries) {
      this.#log.push({ ...entry, seq: this.#log.length + 1 })
      this.#undo.record(() => this.#log.pop())
    }
  }

  /** A page, newest first (oldest first with `after`). */
  list(q: AuditQuery): StoredAuditEntry[] {
    const keep = (e: StoredAuditEntry) =>
      (q.entityType === undefined || e.entityType === q.entityType) &&
      (q.entityId === undefined || e.entityId === q.entityId) &&
      (q.userId === undefined || e.userId === q.userId)
    const out: StoredAuditEntry[] = []
    const log = this.#log
    if (q.after !== undefined) {
      // seq n sits at index n - 1, so the entries after seq `after` start at index `after`.
      for (let i = Math.max(0, q.after); i < log.length && out.length < q.limit; i++) {
        if (keep(log[i])) out.push({ ...log[i] })
      }
      return out
    }
    const start = q.before === undefined ? log.length - 1 : Math.min(log.length, q.before - 1) - 1
    for (let i = start; i >= 0 && out.length < q.limit; i--) if (keep(log[i])) out.push({ ...log[i] })
    return out
  }
}
