/**
 * The audit log: who changed which activity, reaction, user or collection entry, as Stream's
 * `GET audit_logs/` lists it. Entries about activities and reactions are written in the same
 * store transaction as the change; users and collection entries live in the document seam, whose
 * writes take no extra rows, so their entries follow in a second write (docs/server.md).
 */
import type { AuditEntry, AuditStore, StoredAuditEntry } from '../store/store.js'
import { inputError } from './errors.js'
import { randomId } from './ids.js'
import { intOption } from './options.js'

/** The entity types Eddy logs. */
export const AUDIT_ENTITY_TYPES = ['activity', 'reaction', 'user', 'collection'] as const

/** One of {@link AUDIT_ENTITY_TYPES}. */
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number]

/** Default and largest audit-log page. */
export const DEFAULT_AUDIT_LIMIT = 25
export const MAX_AUDIT_LIMIT = 100

/** An audit entry as Stream returns it. */
export interface AuditLog {
  id: string
  entity_type: string
  entity_id: string
  action: string
  user_id: string
  custom: Record<string, unknown>
  created_at: string
}

/** Filters and cursors of an audit-log read, as the official client sends them. */
export interface AuditLogOptions {
  entity_type?: unknown
  entity_id?: unknown
  user_id?: unknown
  limit?: unknown
  /** The `next` of the previous page: older entries. */
  next?: unknown
  /** The `prev` of the previous page: newer entries. */
  prev?: unknown
}

/** A page of the audit log: newest first, with cursors to older (`next`) and newer (`prev`) pages. */
export interface AuditLogPage {
  audit_logs: AuditLog[]
  next: string
  prev: string
}

/** The user an activity's actor names (`SU:alice` and `alice` are alice), for `user_id`. */
export function actorUser(actor: unknown): string {
  if (typeof actor !== 'string') return ''
  return actor.startsWith('SU:') ? actor.slice(3) : actor
}

/** A new audit entry, timestamped now. */
export function auditEntry(
  entityType: AuditEntityType,
  entityId: string,
  action: string,
  userId: string,
  custom: Record<string, unknown> = {},
): AuditEntry {
  return {
    id: randomId(),
    entityType,
    entityId,
    action,
    userId,
    custom: JSON.stringify(custom),
    createdAt: new Date().toISOString(),
  }
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || value.length > 255)
    throw inputError(`${field} must be a string of at most 255 characters`, value, field)
  return value
}

function cursor(value: unknown, field: 'next' | 'prev'): number | undefined {
  const raw = text(value, field)
  if (raw === undefined) return undefined
  if (!/^[1-9]\d{0,15}$/.test(raw))
    throw inputError(`${field} must be the ${field} cursor of an earlier audit_logs page`, value, field)
  return Number(raw)
}

function toLog(e: StoredAuditEntry): AuditLog {
  return {
    id: e.id,
    entity_type: e.entityType,
    entity_id: e.entityId,
    action: e.action,
    user_id: e.userId,
    custom: JSON.parse(e.custom) as Record<string, unknown>,
    created_at: e.createdAt,
  }
}

/**
 * A page of the audit log, filtered by `entity_type` + `entity_id` and/or `user_id`, newest
 * first. `next` pages to older entries and `prev` back to newer ones; each is '' when there is
 * nothing that way.
 */
export async function listAuditLogs(store: AuditStore, options: AuditLogOptions = {}): Promise<AuditLogPage> {
  if (options === null || typeof options !== 'object')
    throw inputError('audit log options must be an object', options, 'options')
  const entityType = text(options.entity_type, 'entity_type')
  if (entityType !== undefined && !(AUDIT_ENTITY_TYPES as readonly string[]).includes(entityType)) {
    throw inputError(`entity_type must be one of ${AUDIT_ENTITY_TYPES.join(', ')}`, entityType, 'entity_type')
  }
  const entityId = text(options.entity_id, 'entity_id')
  if (entityId !== undefined && entityType === undefined)
    throw inputError('entity_id needs entity_type', entityId, 'entity_type')
  const limit = intOption(options.limit, 'limit', 1, MAX_AUDIT_LIMIT, DEFAULT_AUDIT_LIMIT)
  const before = cursor(options.next, 'next')
  const after = cursor(options.prev, 'prev')
  if (before !== undefined && after !== undefined)
    throw inputError('give next or prev, not both', options, 'next')
  const filter = { entityType, entityId, userId: text(options.user_id, 'user_id') }
  // One more than asked tells whether another page follows.
  const rows = await store.list({ ...filter, limit: limit + 1, before, after })
  const more = rows.length > limit
  const page = rows.slice(0, limit)
  if (after !== undefined) page.reverse() // read oldest first from the cursor; shown newest first
  const newest = page[0]
  const oldest = page.at(-1)
  const olderExist = after !== undefined ? page.length > 0 : more
  const newerExist = after !== undefined ? more : before !== undefined && page.length > 0
  return {
    audit_logs: page.map(toLog),
    next: olderExist && oldest ? String(oldest.seq) : '',
    prev: newerExist && newest ? String(newest.seq) : '',
  }
}
