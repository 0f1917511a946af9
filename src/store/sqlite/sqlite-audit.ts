/** The audit log in the SQLite store's `audit_log` table; `seq` is the rowid. */
import type { AuditEntry, AuditQuery, AuditStore, StoredAuditEntry } from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'
import { cached } from './statements.js'

interface AuditRecord {
  seq: number
  id: string
  entity_type: string
  entity_id: string
  action: string
  user_id: string
  custom: string
  created_at: string
}

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
    const where: string[] = []
    const args: Record<string, unknown> = { limit: q.limit }
    const filter = (column: string, op: string, name: string, value: unknown) => {
      if (value === undefined) return
      where.push(`${column} ${op} @${name}`)
      args[name] = value
    }
    filter('entity_type', '=', 'entityType', q.entityType)
    filter('entity_id', '=', 'entityId', q.entityId)
    filter('user_id', '=', 'userId', q.userId)
    if (q.after !== undefined) filter('seq', '>', 'after', q.after)
    else filter('seq', '<', 'before', q.before)
    const order = q.after === undefined ? 'DESC' : 'ASC'
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${order} LIMIT @limit`
    const statement = cached(this.#lists, sql, () => this.#db.prepare(sql))
    return (statement.all(args) as AuditRecord[]).map((r) => ({
      seq: r.seq,
      id: r.id,
      entityType: r.entity_type,
      entityId: r.entity_id,
      action: r.action,
      userId: r.user_id,
      custom: r.custom,
      createdAt: r.created_at,
    }))
  }
}
