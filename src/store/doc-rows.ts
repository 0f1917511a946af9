/**
 * What every SQL store does the same way with document rows: their versions, their mapping to
 * the seam's `DocRow`, and the order they are returned in.
 */
import type { DocRow } from './store.js'

/** A `docs` table row as SQL returns it. */
export interface DocRecord {
  kind: string
  id: string
  data: string
  created_at: string
  updated_at: string
}

/**
 * The `updated_at` of a write: now, or 1 ms after the previous one when the clock has not moved
 * past it, so that every write gives a new version (`ifUpdatedAt` relies on it).
 */
export function nextVersion(previous: string | undefined): string {
  const now = Date.now()
  const last = previous === undefined ? Number.NEGATIVE_INFINITY : Date.parse(previous)
  return new Date(now > last ? now : last + 1).toISOString()
}

/** A stored row as the seam's `DocRow`. */
export function toDoc(row: DocRecord): DocRow {
  return {
    kind: row.kind,
    id: row.id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** Rows in the order of `ids` (a repeated id comes back repeated; a missing one is left out). */
export function docsInOrder(ids: string[], rows: DocRecord[]): DocRow[] {
  const byId = new Map(rows.map((r) => [r.id, r]))
  return ids.flatMap((id) => {
    const row = byId.get(id)
    return row ? [toDoc(row)] : []
  })
}
