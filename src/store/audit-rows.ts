/**
 * What every SQL store does the same way with the `audit_log` table: the page query of
 * `AuditStore.list` and the mapping of its rows to the seam's entries. Only how a value is bound
 * differs (`$1` in PostgreSQL, `?` in SQLite), so the caller binds them.
 */
import type { AuditQuery, StoredAuditEntry } from './store.js'

/** An `audit_log` row as SQL returns it (`seq`: SQLite's rowid, or PostgreSQL's bigint as text). */
export interface AuditRecord {
  seq: number | string
  id: string
  entity_type: string
  entity_id: string
  action: string
  user_id: string
  custom: string
  created_at: string
}

/**
 * The SELECT of one audit page from `table`: newest first, or oldest first with `after`. `bind`
 * takes each value in order and returns its placeholder.
 */
export function auditPageSql(table: string, q: AuditQuery, bind: (value: unknown) => string): string {
  const where: string[] = []
  const filter = (column: string, op: string, value: unknown) => {
    if (value !== undefined) where.push(`${column} ${op} ${bind(value)}`)
  }
  filter('entity_type', '=', q.entityType)
  filter('entity_id', '=', q.entityId)
  filter('user_id', '=', q.userId)
  if (q.after !== undefined) filter('seq', '>', q.after)
  else filter('seq', '<', q.before)
  return `SELECT * FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${q.after === undefined ? 'DESC' : 'ASC'} LIMIT ${bind(q.limit)}`
}

/** A stored row as the seam's entry. */
export function toAuditEntry(r: AuditRecord): StoredAuditEntry {
  return {
    seq: Number(r.seq),
    id: r.id,
    entityType: r.entity_type,
    entityId: r.entity_id,
    action: r.action,
    userId: r.user_id,
    custom: r.custom,
    createdAt: r.created_at,
  }
}
