/**
 * The embedded client's `files`, `images` and `og`, shaped like getstream's. The embedded client
 * acts as the app (full rights) unless a call names the user it acts for (`{ userId }`), as its
 * reactions do. URLs start with `uploads.publicUrl` (default `/`): an app serves them with
 * `client.serveUpload(url)` (Chirp mounts it at `/uploads/`), or `eddy serve` does.
 */
import { inputError } from '../engine/errors.js'
import type { UploadKind } from '../uploads/blobs.js'
import type { OgResult, OpenGraph } from '../uploads/og.js'
import type { Actor, Served, Uploads } from '../uploads/uploads.js'
import { duration } from '../wire/duration.js'
import type { APIResponse } from './feed.js'

/** What an upload call takes: bytes, or a web `Blob`/`File`. */
export type UploadData = Uint8Array | ArrayBuffer | globalThis.Blob

/** `{ userId }`: act as that user (ownership rules apply); absent: as the app. */
export interface ActAs {
  userId?: string
}

async function bytesOf(data: UploadData): Promise<Buffer> {
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (typeof globalThis.Blob === 'function' && data instanceof globalThis.Blob)
    return Buffer.from(await data.arrayBuffer())
  throw inputError('an upload takes a Buffer, Uint8Array, ArrayBuffer or Blob', typeof data, 'file')
}

function actor(options: ActAs | undefined): Actor {
  if (options?.userId !== undefined && (typeof options.userId !== 'string' || options.userId === ''))
    throw inputError('userId must be a non-empty string', options.userId, 'userId')
  return { userId: options?.userId }
}

/** getstream's `client.files`. */
export class EddyFiles {
  constructor(
    protected readonly uploads: Uploads,
    protected readonly base: string,
    protected readonly kind: UploadKind = 'files',
  ) {}

  /** Stores `data` (its type sniffed from the bytes; `contentType` is ignored) and returns `{ file: url }`. */
  async upload(
    data: UploadData,
    name?: string,
    _contentType?: string,
    options?: ActAs,
  ): Promise<{ file: string } & APIResponse> {
    const started = performance.now()
    const path = await this.uploads.upload(this.kind, await bytesOf(data), name, actor(options))
    return { file: this.base + path, duration: duration(started) }
  }

  /** Deletes the upload at `url` (its owner or the app; a second delete is a 404). */
  async delete(url: string, options?: ActAs): Promise<APIResponse> {
    const started = performance.now()
    await this.uploads.delete(this.kind, url, actor(options))
    return { duration: duration(started) }
  }
}

/** Stream's image processing options. */
export interface ImageProcessOptions {
  w?: number | string
  h?: number | string
  crop?: string | string[]
  resize?: 'clip' | 'crop' | 'scale' | 'fill'
}

/** getstream's `client.images`. */
export class EddyImages extends EddyFiles {
  constructor(uploads: Uploads, base: string) {
    super(uploads, base, 'images')
  }

  /** The URL of the image resized as `options` say (`{ file }`), rendered once now. */
  async process(
    url: string,
    options: ImageProcessOptions,
    act?: ActAs,
  ): Promise<{ file: string } & APIResponse> {
    const started = performance.now()
    const params: Record<string, unknown> = { ...options }
    if (Array.isArray(params.crop)) params.crop = params.crop.join(',')
    const path = await this.uploads.process(url, params, actor(act))
    return { file: this.base + path, duration: duration(started) }
  }

  /** A `w`×`h` thumbnail (default `crop: 'center'`, `resize: 'clip'`). */
  thumbnail(
    url: string,
    w: number | string,
    h: number | string,
    { crop, resize }: ImageProcessOptions = { crop: 'center', resize: 'clip' },
    act?: ActAs,
  ): Promise<{ file: string } & APIResponse> {
    return this.process(url, { w, h, crop, resize }, act)
  }
}

/** The preview of `url` (getstream's `client.og`). */
export async function openGraph(og: OpenGraph, url: string): Promise<OgResult & APIResponse> {
  const started = performance.now()
  return { ...(await og.scrape(url)), duration: duration(started) }
}

/** The answer for an upload URL (or its path and query), for an app that serves uploads itself. */
export function serveUpload(uploads: Uploads, url: string, etag?: string): Promise<Served> {
  const parsed = new URL(url, 'http://eddy.invalid/')
  const match = /\/uploads\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(parsed.pathname)
  if (!match) return Promise.resolve({ status: 404, headers: {} })
  let name: string
  try {
    name = decodeURIComponent(match[3])
  } catch {
    return Promise.resolve({ status: 404, headers: {} })
  }
  return uploads.serve(match[1], match[2], name, Object.fromEntries(parsed.searchParams), etag)
}
