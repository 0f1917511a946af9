/** Documents (users, collection entries) in the SQLite store's `docs` table. */
import { type DocRecord, docsInOrder, nextVersion, toDoc } from '../doc-rows.js'
import type { DocRow, DocumentStore, PutMode as Mode } from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'

/** The {@link DocumentStore} of a SQLite store; `check` throws when the store is closed. */
export class SqliteDocuments implements DocumentStore {
  readonly #check: () => void
  readonly #get: Statement
  readonly #updatedAt: Statement
  readonly #delete: Statement
  readonly #list: Statement
  readonly #statements: Record<Mode, Statement>
  readonly #put: Transaction<
    (kind: string, id: string, data: string, mode: Mode, ifUpdatedAt?: string) => DocRecord | undefined
  >
  readonly #deleteMany: Transaction<(kind: string, ids: string) => number>

  constructor(db: Database, check: () => void) {
    this.#check = check
    this.#get = db.prepare('SELECT * FROM docs WHERE kind = ? AND id IN (SELECT value FROM json_each(?))')
    this.#updatedAt = db.prepare('SELECT updated_at FROM docs WHERE kind = ? AND id = ?').pluck()
    this.#list = db.prepare(
      'SELECT * FROM docs WHERE kind = :kind AND (:after IS NULL OR id > :after) ORDER BY id LIMIT :limit',
    )
    this.#delete = db.prepare('DELETE FROM docs WHERE kind = ? AND id IN (SELECT value FROM json_each(?))')
    this.#statements = {
      insert: db.prepare(
        `INSERT INTO docs (kind, id, data, created_at, updated_at) VALUES (:kind, :id, :data, :now, :now)
         ON CONFLICT DO NOTHING RETURNING *`,
      ),
      update: db.prepare(
        'UPDATE docs SET data = :data, updated_at = :now WHERE kind = :kind AND id = :id RETURNING *',
      ),
      upsert: db.prepare(
        `INSERT INTO docs (kind, id, data, created_at, updated_at) VALUES (:kind, :id, :data, :now, :now)
         ON CONFLICT DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at RETURNING *`,
      ),
    }
    this.#put = db.transaction((kind: string, id: string, data: string, mode: Mode, ifUpdatedAt?: string) => {
      const previous = this.#updatedAt.get(kind, id) as string | undefined
      if (ifUpdatedAt !== undefined && previous !== ifUpdatedAt) return undefined
      return this.#statements[mode].get({ kind, id, data, now: nextVersion(previous) }) as
        | DocRecord
        | undefined
    })
    this.#deleteMany = db.transaction((kind: string, ids: string) => this.#delete.run(kind, ids).changes)
  }

  async getDocs(kind: string, ids: string[]): Promise<DocRow[]> {
    this.#check()
    const rows = this.#get.all(kind, JSON.stringify(ids)) as DocRecord[]
    return docsInOrder(ids, rows)
  }

  async putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: Mode,
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined> {
    this.#check()
    const row = this.#put.immediate(kind, id, JSON.stringify(data), mode, ifUpdatedAt)
    return row && toDoc(row)
  }

  async deleteDocs(kind: string, ids: string[]): Promise<number> {
    this.#check()
    return this.#deleteMany.immediate(kind, JSON.stringify(ids))
  }

  async listDocs(kind: string, after: string | undefined, limit: number): Promise<DocRow[]> {
    this.#check()
    const rows = this.#list.all({ kind, after: after ?? null, limit }) as DocRecord[]
    return rows.map(toDoc)
  }
}
