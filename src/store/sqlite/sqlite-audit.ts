/** The audit log in the SQLite store's `audit_log` table; `seq` is the rowid. */
import { type AuditRecord, auditPageSql, toAuditEntry } from '../audit-rows.js'
import type { AuditEntry, AuditQuery, AuditStore, StoredAuditEntry } from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'
import { cached } from './statements.js'

/** The {@link AuditStore} of a SQLite store; `add` also runs inside other writes' transactions. */
export class SqliteAudit implements AuditStore {
  readonly #db: Database
  readonly #check: () => void
  readonly #insert: Statement
  readonly #append: Transaction<(entries: AuditEntry[]) => void>
  readonly #lists = new Map<string, Statement>()

  constructor(db: Database, check: () => void) {
    this.#db = db
    this.#check = check
    this.#insert = db.prepare(
      `INSERT INTO audit_log (id, entity_type, entity_id, action, user_id, custom, created_at)
       VALUES (@id, @entityType, @entityId, @action, @userId, @custom, @createdAt)`,
    )
    this.#append = db.transaction((entries: AuditEntry[]) => this.add(entries))
  }

  /** Inserts entries in the current transaction (or its own statement). */
  add(entries: AuditEntry[]): void {
    for (const e of entries) this.#insert.run(e)
  }

  async append(entries: AuditEntry[]): Promise<void> {
    this.#check()
    if (entries.length > 0) this.#append.immediate(entries)
  }

  async list(q: AuditQuery): Promise<StoredAuditEntry[]> {
    this.#check()
    const args: unknown[] = []
    const sql = auditPageSql('audit_log', q, (value) => {
      args.push(value)
      return '?'
    })
    const statement = cached(this.#lists, sql, () => this.#db.prepare(sql))
    return (statement.all(...args) as AuditRecord[]).map(toAuditEntry)
  }
}
