/** The audit-log part (`storage.audit`): append-only, listed newest first (rule R5 of reaction-store.ts). */

/** One audit-log entry: who did what to which entity. */
export interface AuditEntry {
  id: string
  /** `activity`, `reaction`, `user` or `collection`. */
  entityType: string
  entityId: string
  /** `created`, `updated`, `deleted`, `soft_deleted`, `restored`, `removed_from_feed`... */
  action: string
  /** Who made the change ('' when a server made it on nobody's behalf). */
  userId: string
  /** Context as JSON text (an object). */
  custom: string
  /** When, as an ISO string. */
  createdAt: string
}

/** A stored audit entry with its place in the log. */
export interface StoredAuditEntry extends AuditEntry {
  /** Position in the log: larger is later (R5). */
  seq: number
}

/** A page of the audit log; the filters combine. */
export interface AuditQuery {
  entityType?: string
  entityId?: string
  userId?: string
  limit: number
  /** Only entries before this position (newest first). */
  before?: number
  /** Only entries after this position, oldest first (paging back towards the newest). */
  after?: number
}

/** The audit log of one backend (R5). */
export interface AuditStore {
  /** Appends entries in their own transaction. */
  append(entries: AuditEntry[]): Promise<void>
  /** A page: newest first, or oldest first with `after`. */
  list(query: AuditQuery): Promise<StoredAuditEntry[]>
}
