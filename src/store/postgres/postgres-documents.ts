/**
 * Documents (users, collection entries) in the PostgreSQL store's `docs` table. Data is kept as
 * JSON text, so it reads back exactly as written (jsonb would reorder keys). A write locks the
 * row it reads `updated_at` from, so `ifUpdatedAt` holds across processes.
 */
import { type DocRecord, docsInOrder, nextVersion, toDoc } from '../doc-rows.js'
import type { DocRow, DocumentStore, PutMode as Mode } from '../store.js'
import { quoted } from './schema.js'
import { type Session, sql } from './session.js'

/** The {@link DocumentStore} of a PostgreSQL store. */
export class PostgresDocuments implements DocumentStore {
  readonly #session: Session
  readonly #st: ReturnType<typeof statements>

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#st = statements(quoted(schema))
  }

  async getDocs(kind: string, ids: string[]): Promise<DocRow[]> {
    this.#session.check()
    if (ids.length === 0) return []
    const rows = await this.#session.once('getDocs', (db) => db.rows<DocRecord>(this.#st.get, [kind, ids]))
    return docsInOrder(ids, rows)
  }

  async putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: Mode,
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined> {
    this.#session.check()
    const text = JSON.stringify(data)
    const row = await this.#session.transaction('putDoc', async (db) => {
      const [previous] = await db.rows<{ updated_at: string }>(this.#st.lock, [kind, id])
      if (ifUpdatedAt !== undefined && previous?.updated_at !== ifUpdatedAt) return undefined
      const [written] = await db.rows<DocRecord>(this.#st[mode], [
        kind,
        id,
        text,
        nextVersion(previous?.updated_at),
      ])
      return written
    })
    return row && toDoc(row)
  }

  async deleteDocs(kind: string, ids: string[]): Promise<number> {
    this.#session.check()
    if (ids.length === 0) return 0
    return this.#session.once('deleteDocs', (db) => db.run(this.#st.delete, [kind, ids]))
  }

  async listDocs(kind: string, after: string | undefined, limit: number): Promise<DocRow[]> {
    this.#session.check()
    const rows = await this.#session.once('listDocs', (db) =>
      db.rows<DocRecord>(this.#st.list, [kind, after ?? null, limit]),
    )
    return rows.map(toDoc)
  }
}

function statements(s: string) {
  const columns = 'kind, id, data, created_at, updated_at'
  return {
    get: sql(`SELECT ${columns} FROM ${s}.docs WHERE kind = $1 AND id = ANY($2::text[])`),
    lock: sql(`SELECT updated_at FROM ${s}.docs WHERE kind = $1 AND id = $2 FOR UPDATE`),
    insert: sql(`INSERT INTO ${s}.docs (${columns}) VALUES ($1, $2, $3, $4, $4)
      ON CONFLICT DO NOTHING RETURNING ${columns}`),
    update: sql(`UPDATE ${s}.docs SET data = $3, updated_at = $4 WHERE kind = $1 AND id = $2
      RETURNING ${columns}`),
    upsert: sql(`INSERT INTO ${s}.docs AS d (${columns}) VALUES ($1, $2, $3, $4, $4)
      ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
      RETURNING ${columns}`),
    list: sql(`SELECT ${columns} FROM ${s}.docs WHERE kind = $1 AND ($2::text IS NULL OR id > $2)
      ORDER BY id LIMIT $3`),
    delete: sql(`DELETE FROM ${s}.docs WHERE kind = $1 AND id = ANY($2::text[])`),
  }
}
