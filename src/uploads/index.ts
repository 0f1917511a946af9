/**
 * Uploads and link previews for a client: which blob store (from the option, or next to the
 * feeds by default), the size and pixel limits, the link preview settings.
 */
import { join, resolve } from 'node:path'
import { parseStoreSpec, storeDirectory } from '../client/store-spec.js'
import { inputError } from '../engine/errors.js'
import { checkOptionNames } from '../engine/option-names.js'
import type { Store } from '../store/store.js'
import { type BlobStore, DirBlobs, MemoryBlobs } from './blobs.js'
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './images.js'
import { type OgOptions, OpenGraph } from './og.js'
import { PgBlobs } from './pg-blobs.js'
import { parseS3Spec, S3Blobs } from './s3-blobs.js'
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_IMAGE_BYTES, Uploads } from './uploads.js'

export type { BlobMeta, BlobStore, UploadKind } from './blobs.js'
export { DirBlobs, MemoryBlobs } from './blobs.js'
export type { ImageLimits } from './images.js'
export type { OgOptions, OgResult } from './og.js'
export { PgBlobs } from './pg-blobs.js'
export { S3Blobs, type S3BlobsOptions } from './s3-blobs.js'
export type { Actor, Served } from './uploads.js'
export { Uploads } from './uploads.js'

/** The `uploads` option of `connect()` and `createServer()`. */
export interface UploadsOptions {
  /**
   * Where uploaded bytes live: `'memory'`, `'dir:<path>'`, `'s3://bucket/prefix?endpoint=…&region=…&path_style=true'`
   * (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), `'postgres://…[?schema=name]'`, or a
   * {@link BlobStore}. Default: beside the feeds (a SQLite file's directory, `eddy-uploads/`; the
   * PostgreSQL database of a PostgreSQL store; memory for a memory store).
   */
  store?: string | BlobStore
  /** Largest file in bytes (default 20 MiB). */
  maxFileBytes?: number
  /** Largest image in bytes (default 10 MiB). */
  maxImageBytes?: number
  /** Pixel, time and concurrency bounds of image work. */
  images?: Partial<ImageLimits>
  /** Link previews (`og/`). */
  og?: OgOptions
}

const UPLOAD_OPTIONS = ['store', 'maxFileBytes', 'maxImageBytes', 'images', 'og']

/**
 * Where uploads go for `location` and the feed store, as a location (`memory`, `dir:<absolute
 * path>`, `s3://…`, `postgres://…`), without opening anything: what `eddy serve` prints.
 */
export function blobsLocation(location: string | undefined, feeds: string | Store | undefined): string {
  if (location === undefined) {
    if (typeof feeds !== 'string') return `dir:${resolve('eddy-uploads')}`
    const spec = parseStoreSpec(feeds)
    if (spec.kind === 'memory' || (spec.kind === 'sqlite' && spec.path === ':memory:')) return 'memory'
    if (spec.kind === 'postgres') return spec.url
    return `dir:${resolve(join(storeDirectory(spec) ?? '.', 'eddy-uploads'))}`
  }
  if (location === 'memory' || /^(s3|postgres(ql)?):\/\//.test(location)) return location
  if (location.startsWith('dir:')) return `dir:${resolve(location.slice(4))}`
  throw inputError(
    "uploads.store must be 'memory', 'dir:<path>', 's3://bucket/prefix?endpoint=…' or 'postgres://…'",
    hidePassword(location),
    'uploads.store',
  )
}

/** `location` with any password in it replaced, for messages and logs. */
export function hidePassword(location: string): string {
  return location.replace(/\/\/[^@/]*@/, '//<hidden>@')
}

/** The blob store a location names, or the default beside the feed store. */
export function openBlobs(
  location: string | BlobStore | undefined,
  feeds: string | Store | undefined,
): BlobStore {
  if (location !== undefined && typeof location === 'object') return location
  const where = blobsLocation(location, feeds)
  if (where === 'memory') return new MemoryBlobs()
  if (where.startsWith('dir:')) return new DirBlobs(where.slice(4))
  if (where.startsWith('s3://')) return new S3Blobs(parseS3Spec(where))
  return pgBlobs(where)
}

function pgBlobs(url: string): PgBlobs {
  const schema = new URL(url).searchParams.get('schema') ?? undefined
  const plain = new URL(url)
  plain.searchParams.delete('schema')
  return new PgBlobs({ connectionString: plain.toString(), schema })
}

function bytesOption(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw inputError(`${field} must be a whole number of bytes`, value, field)
  return value
}

/** Uploads and link previews as `options` configure them. */
export function openMedia(
  options: UploadsOptions | undefined,
  feeds: string | Store | undefined,
): { uploads: Uploads; og: OpenGraph } {
  const o = options ?? {}
  if (typeof o !== 'object' || o === null) throw inputError('uploads must be an object', o, 'uploads')
  checkOptionNames(o, UPLOAD_OPTIONS, 'uploads')
  const images = { ...DEFAULT_IMAGE_LIMITS }
  for (const [key, value] of Object.entries(o.images ?? {})) {
    if (!(key in images)) throw inputError(`uploads.images has no option ${key}`, key, 'uploads.images')
    images[key as keyof ImageLimits] = bytesOption(value, `uploads.images.${key}`, 1)
  }
  const uploads = new Uploads(openBlobs(o.store, feeds), {
    maxFileBytes: bytesOption(o.maxFileBytes, 'uploads.maxFileBytes', DEFAULT_MAX_FILE_BYTES),
    maxImageBytes: bytesOption(o.maxImageBytes, 'uploads.maxImageBytes', DEFAULT_MAX_IMAGE_BYTES),
    images,
  })
  return { uploads, og: new OpenGraph(o.og) }
}
