/** The audit log in the PostgreSQL store's `audit_log` table; `seq` is an identity column. */
import type { AuditEntry, AuditQuery, AuditStore, StoredAuditEntry } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, type Step, sql } from './session.js'

interface AuditRecord {
  seq: string
  id: string
  entity_type: string
  entity_id: string
  action: string
  user_id: string
  custom: string
  created_at: string
}

/** The {@link AuditStore} of a PostgreSQL store; `add` also runs inside other writes' transactions. */
export class PostgresAudit implements AuditStore {
  readonly #session: Session
  readonly #s: string
  readonly #insert: Sql
  readonly #lists = new Map<string, Sql>()

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#s = quoted(schema)
    this.#insert = sql(`INSERT INTO ${this.#s}.audit_log
      (id, entity_type, entity_id, action, user_id, custom, created_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`)
  }

  /** Inserts entries with `db` (inside the caller's transaction), in order. */
  async add(db: Runner, entries: AuditEntry[]): Promise<void> {
    const step = this.step(entries)
    if (step) await db.run(step.statement, step.values)
  }

  /** `add` as a statement to send with others (undefined for no entries). */
  step(entries: AuditEntry[]): Step | undefined {
    if (entries.length === 0) return undefined
    const column = (f: (e: AuditEntry) => string) => entries.map(f)
    return {
      statement: this.#insert,
      values: [
        column((e) => e.id),
        column((e) => e.entityType),
        column((e) => e.entityId),
        column((e) => e.action),
        column((e) => e.userId),
        column((e) => e.custom),
        column((e) => e.createdAt),
      ],
    }
  }

  async append(entries: AuditEntry[]): Promise<void> {
    this.#session.check()
    if (entries.length === 0) return
    await this.#session.transaction('appendAudit', (db) => this.add(db, entries))
  }

  async list(q: AuditQuery): Promise<StoredAuditEntry[]> {
    this.#session.check()
    const where: string[] = []
    const values: unknown[] = []
    const filter = (column: string, op: string, value: unknown) => {
      if (value === undefined) return
      values.push(value)
      where.push(`${column} ${op} $${values.length}`)
    }
    filter('entity_type', '=', q.entityType)
    filter('entity_id', '=', q.entityId)
    filter('user_id', '=', q.userId)
    if (q.after !== undefined) filter('seq', '>', q.after)
    else filter('seq', '<', q.before)
    values.push(q.limit)
    const text = `SELECT * FROM ${this.#s}.audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${q.after === undefined ? 'DESC' : 'ASC'} LIMIT $${values.length}`
    let statement = this.#lists.get(text)
    if (!statement) {
      statement = sql(text)
      this.#lists.set(text, statement)
    }
    const rows = await this.#session.once('listAudit', (db) => db.rows<AuditRecord>(statement, values))
    return rows.map((r) => ({
      seq: Number(r.seq),
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
