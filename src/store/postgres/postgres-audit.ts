/** The audit log in the PostgreSQL store's `audit_log` table; `seq` is an identity column. */
import { type AuditRecord, auditPageSql, toAuditEntry } from '../audit-rows.js'
import type { AuditEntry, AuditQuery, AuditStore, StoredAuditEntry } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, type Step, sql } from './session.js'

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
    const values: unknown[] = []
    const text = auditPageSql(`${this.#s}.audit_log`, q, (value) => {
      values.push(value)
      return `$${values.length}`
    })
    let statement = this.#lists.get(text)
    if (!statement) {
      statement = sql(text)
      this.#lists.set(text, statement)
    }
    const rows = await this.#session.once('listAudit', (db) => db.rows<AuditRecord>(statement, values))
    return rows.map(toAuditEntry)
  }
}
