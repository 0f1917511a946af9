/** Documents (users, collection entries) in memory, apart from the feed storage. */
import type { DocRow, DocumentStore, PutMode } from '../store.js'

/** The memory store's {@link DocumentStore}. */
export class MemoryDocuments implements DocumentStore {
  readonly #docs: Map<string, DocRow>
  readonly #check: () => void
  readonly #now: () => number

  /** `check` throws once the store is closed; `now` is the store's clock. */
  constructor(docs: Map<string, DocRow>, check: () => void, now: () => number) {
    this.#docs = docs
    this.#check = check
    this.#now = now
  }

  async getDocs(kind: string, ids: string[]): Promise<DocRow[]> {
    this.#check()
    const out: DocRow[] = []
    for (const id of ids) {
      const doc = this.#docs.get(`${kind}\u0000${id}`)
      // Copies: a caller changing what it got must not change what is stored.
      if (doc) out.push(structuredClone(doc))
    }
    return out
  }

  async putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: PutMode,
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined> {
    this.#check()
    const key = `${kind}\u0000${id}`
    const existing = this.#docs.get(key)
    if ((mode === 'insert' && existing) || (mode === 'update' && !existing)) return undefined
    if (ifUpdatedAt !== undefined && mode !== 'insert' && existing?.updatedAt !== ifUpdatedAt)
      return undefined
    let time = this.#now()
    // updated_at is a version for ifUpdatedAt: it must move on every write, even within one
    // millisecond, or a writer holding the old value would still match it.
    if (existing && time <= Date.parse(existing.updatedAt)) time = Date.parse(existing.updatedAt) + 1
    const now = new Date(time).toISOString()
    const doc: DocRow = {
      kind,
      id,
      data: structuredClone(data),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    }
    this.#docs.set(key, doc)
    return structuredClone(doc)
  }

  async deleteDocs(kind: string, ids: string[]): Promise<number> {
    this.#check()
    let n = 0
    for (const id of ids) if (this.#docs.delete(`${kind}\u0000${id}`)) n++
    return n
  }

  async listDocs(kind: string, after: string | undefined, limit: number): Promise<DocRow[]> {
    this.#check()
    // The memory store keeps no id index: a page scans the documents (fine at its sizes).
    const prefix = `${kind}\u0000`
    const page: DocRow[] = []
    for (const [key, doc] of this.#docs)
      if (key.startsWith(prefix) && (after === undefined || byteOrder(doc.id, after) > 0)) page.push(doc)
    page.sort((a, b) => byteOrder(a.id, b.id))
    return page.slice(0, limit).map((d) => structuredClone(d))
  }
}

/** Compares ids as SQL's binary collation does (UTF-8 bytes), which differs from `<` past U+FFFF. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
