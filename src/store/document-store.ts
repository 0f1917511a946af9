/** The documents part: users and collection entries, beside the feed storage. */

/** Free-form documents for the server's users and collections. */
export interface DocRow {
  kind: string
  id: string
  data: Record<string, unknown>
  createdAt: string
  /** Moves forward on every write: the version `putDoc`'s `ifUpdatedAt` compares. */
  updatedAt: string
}

/** How `putDoc` writes: `insert` only a new document, `update` only an existing one, `upsert` either. */
export type PutMode = 'insert' | 'update' | 'upsert'

/** Documents (users, collection entries): the documents part of a backend. */
export interface DocumentStore {
  /** Gets documents by kind and ids, in the order asked (a repeated id comes back repeated). */
  getDocs(kind: string, ids: string[]): Promise<DocRow[]>

  /**
   * Writes a document. `insert` fails (resolves undefined) when the id exists, `update` when it
   * does not; `upsert` always writes. `created_at` is kept on update, and `updated_at` strictly
   * increases with every write of a document (bumped by 1 ms when the clock has not moved), so
   * it serves as a version: with `ifUpdatedAt`, an update applies only if the stored
   * `updated_at` is still that value (else undefined), checked inside the write's transaction.
   */
  putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: PutMode,
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined>

  /** Deletes documents; resolves with how many existed. */
  deleteDocs(kind: string, ids: string[]): Promise<number>

  /**
   * One page of a kind's documents in id order (byte order of the UTF-8 ids): at most `limit`
   * (1 to 1,000), each with an id after `after` when given.
   */
  listDocs(kind: string, after: string | undefined, limit: number): Promise<DocRow[]>
}
