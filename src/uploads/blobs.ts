/**
 * Where uploaded bytes live: the {@link BlobStore} seam, with a directory store (the default for
 * an embedded or single server, under the data directory) and a memory store (for `memory`
 * feeds and tests). Shared stores for several servers: s3-blobs.ts and pg-blobs.ts.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** The two kinds of upload, as Stream names their endpoints. */
export type UploadKind = 'files' | 'images'

/** What is kept beside an upload's bytes. */
export interface BlobMeta {
  kind: UploadKind
  /** A random UUID: the only part of an upload's URL that names where it is stored. */
  id: string
  /** The file name as shown in the URL (already made safe by sniff.ts). */
  name: string
  /** The media type sniffed from the bytes at upload. */
  type: string
  size: number
  /** The uploading user, or null for a server token (or the embedded client acting as the app). */
  owner: string | null
  /** ISO time of the upload. */
  created: string
}

/** A stored upload. */
export interface Blob {
  meta: BlobMeta
  bytes: Buffer
}

/** Storage for uploads. Keys are `<kind>/<uuid>`, built from validated ids only. */
export interface BlobStore {
  /** Where the bytes go, for logs and `--uploads` (no credentials). */
  readonly name: string
  put(blob: Blob): Promise<void>
  get(kind: UploadKind, id: string): Promise<Blob | undefined>
  /** The metadata alone (ownership checks read no bytes). */
  head(kind: UploadKind, id: string): Promise<BlobMeta | undefined>
  /** Removes it; false when it was not there. */
  delete(kind: UploadKind, id: string): Promise<boolean>
  close(): Promise<void>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Whether `id` is an upload id (a lowercase UUID); nothing else ever reaches a store. */
export function isBlobId(id: string): boolean {
  return UUID.test(id)
}

/** A new upload id. */
export function newBlobId(): string {
  return randomUUID()
}

/** Keeps uploads in this process, up to `maxBytes` in all (tests, `--store memory`). */
export class MemoryBlobs implements BlobStore {
  readonly name = 'memory'
  readonly #blobs = new Map<string, Blob>()
  #bytes = 0

  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  async put(blob: Blob): Promise<void> {
    if (this.#bytes + blob.bytes.length > this.maxBytes)
      throw new Error(`the memory upload store is full (${this.maxBytes} bytes)`)
    this.#blobs.set(`${blob.meta.kind}/${blob.meta.id}`, blob)
    this.#bytes += blob.bytes.length
  }

  async get(kind: UploadKind, id: string): Promise<Blob | undefined> {
    return this.#blobs.get(`${kind}/${id}`)
  }

  async head(kind: UploadKind, id: string): Promise<BlobMeta | undefined> {
    return this.#blobs.get(`${kind}/${id}`)?.meta
  }

  async delete(kind: UploadKind, id: string): Promise<boolean> {
    const blob = this.#blobs.get(`${kind}/${id}`)
    if (!blob) return false
    this.#blobs.delete(`${kind}/${id}`)
    this.#bytes -= blob.bytes.length
    return true
  }

  async close(): Promise<void> {}
}

/**
 * Keeps uploads in a directory: `<dir>/<kind>/<id>` holds the bytes and `<id>.json` the metadata.
 * Both are written to a temporary name and renamed, so a crash never leaves half a file under a
 * served name; the metadata is written last, so an upload exists once its metadata does.
 */
export class DirBlobs implements BlobStore {
  readonly name: string

  constructor(readonly dir: string) {
    this.name = `dir:${dir}`
  }

  #path(kind: UploadKind, id: string): string {
    if (!isBlobId(id)) throw new Error(`not an upload id: ${id}`)
    return join(this.dir, kind, id)
  }

  async put(blob: Blob): Promise<void> {
    const path = this.#path(blob.meta.kind, blob.meta.id)
    await mkdir(join(this.dir, blob.meta.kind), { recursive: true, mode: 0o700 })
    await writeFile(`${path}.tmp`, blob.bytes, { mode: 0o600 })
    await rename(`${path}.tmp`, path)
    await writeFile(`${path}.json.tmp`, JSON.stringify(blob.meta), { mode: 0o600 })
    await rename(`${path}.json.tmp`, `${path}.json`)
  }

  async get(kind: UploadKind, id: string): Promise<Blob | undefined> {
    const meta = await this.head(kind, id)
    if (!meta) return undefined
    const bytes = await readFile(this.#path(kind, id)).catch(missing)
    return bytes ? { meta, bytes } : undefined
  }

  async head(kind: UploadKind, id: string): Promise<BlobMeta | undefined> {
    const text = await readFile(`${this.#path(kind, id)}.json`, 'utf8').catch(missing)
    return text === undefined ? undefined : (JSON.parse(text) as BlobMeta)
  }

  async delete(kind: UploadKind, id: string): Promise<boolean> {
    const path = this.#path(kind, id)
    // The metadata goes first: from then on the upload is gone, whatever happens to the bytes.
    const had = await rm(`${path}.json`).then(
      () => true,
      (error) => missing(error) ?? false,
    )
    await rm(path, { force: true })
    return had
  }

  async close(): Promise<void> {}
}

/** undefined for a missing file; any other error is rethrown. */
function missing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') return undefined
  throw error
}
