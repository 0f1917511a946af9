/**
 * Uploads, as Stream's files/ and images/ endpoints have them: store an upload under a random id
 * with its owner, sniffed type and safe name; delete and process only as its owner (or the app);
 * serve it with headers that never let uploaded markup run; render the resize parameters of an
 * image URL. The server routes and the embedded client both call this one copy.
 */
import { createHash } from 'node:crypto'
import { EddyError, inputError, notAllowed, notFound } from '../engine/errors.js'
import { type BlobMeta, type BlobStore, isBlobId, newBlobId, type UploadKind } from './blobs.js'
import {
  checkDecodes,
  DEFAULT_IMAGE_LIMITS,
  type ImageLimits,
  imageType,
  parseResize,
  RenderQueue,
  type Resize,
  render,
  resizeQuery,
} from './images.js'
import { contentDisposition, safeName, servedType, sniff } from './sniff.js'

/** Default largest file: 20 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
/** Default largest image: 10 MiB. */
export const DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024
/** Rendered image variants kept in memory (bytes). */
const VARIANT_CACHE_BYTES = 32 * 1024 * 1024

/** Size and pixel limits of uploads. */
export interface UploadLimits {
  maxFileBytes: number
  maxImageBytes: number
  images: ImageLimits
}

/** Who acts: a user (a user token, or the embedded client's `userId`), or the app (undefined). */
export interface Actor {
  userId?: string
  /** Whom the render queue is fair to (default the user, else the app): the server passes the caller's address for server tokens. */
  caller?: string
}

/** The render queue's caller key of `actor`. */
function callerOf(actor: Actor): string {
  return actor.caller ?? (actor.userId === undefined ? 'app' : `user:${actor.userId}`)
}

/** An HTTP answer for a served upload. */
export interface Served {
  status: number
  headers: Record<string, string>
  body?: Buffer
}

/** Where an upload URL points. */
export interface UploadRef {
  kind: UploadKind
  id: string
  name: string
  resize?: Resize
}

const UPLOAD_PATH = /\/uploads\/(files|images)\/([0-9a-f-]{36})\/([^/?#]+)$/

/** The path of an upload below the public base URL: `uploads/<kind>/<id>/<name>`. */
export function uploadPath(kind: UploadKind, id: string, name: string): string {
  return `uploads/${kind}/${id}/${encodeURIComponent(name)}`
}

/** Largest accepted size of an upload of `kind`. */
export function maxBytes(limits: UploadLimits, kind: UploadKind): number {
  return kind === 'images' ? limits.maxImageBytes : limits.maxFileBytes
}

/** Uploads over one {@link BlobStore}. */
export class Uploads {
  readonly #renders: RenderQueue
  readonly #variants = new Map<string, Buffer>()
  #variantBytes = 0

  constructor(
    readonly blobs: BlobStore,
    readonly limits: UploadLimits = {
      maxFileBytes: DEFAULT_MAX_FILE_BYTES,
      maxImageBytes: DEFAULT_MAX_IMAGE_BYTES,
      images: DEFAULT_IMAGE_LIMITS,
    },
  ) {
    this.#renders = new RenderQueue(limits.images)
  }

  /** Stores an upload and returns its path (`uploads/<kind>/<id>/<name>`) with Stream's trailing `?`. */
  async upload(kind: UploadKind, bytes: Buffer, name: string | undefined, actor: Actor): Promise<string> {
    const max = maxBytes(this.limits, kind)
    if (bytes.length > max) throw tooLarge(kind, max)
    if (bytes.length === 0) throw inputError('the file is empty', 0, 'file')
    let type = sniff(bytes)
    if (kind === 'images') {
      const image = await imageType(bytes, this.limits.images)
      // Stream's wording; SVG and anything else that is not a raster image is refused here.
      if (!image.type) throw new EddyError('InputException', `File type ${type} is not supported`)
      type = image.type
      await this.#renders.run(callerOf(actor), () => checkDecodes(bytes, this.limits.images))
    }
    const meta: BlobMeta = {
      kind,
      id: newBlobId(),
      name: safeName(name),
      type,
      size: bytes.length,
      owner: actor.userId ?? null,
      created: new Date().toISOString(),
    }
    await this.blobs.put({ meta, bytes })
    return `${uploadPath(kind, meta.id, meta.name)}?`
  }

  /** Deletes the upload `url` points at: its owner or the app only (403), once (then 404). */
  async delete(kind: UploadKind, url: unknown, actor: Actor): Promise<void> {
    const ref = parseUploadUrl(url, kind, this.limits.images)
    await this.#owned(ref, actor)
    if (!(await this.blobs.delete(ref.kind, ref.id))) throw gone(url)
    this.#dropVariants(ref.id)
  }

  /**
   * `GET images/?url=&w=&h=&crop=&resize=`: checks the parameters and the caller's ownership,
   * renders once (so a bad image fails here, not on the CDN-style URL) and returns the path of
   * the processed image: the upload's path with the parameters.
   */
  async process(url: unknown, params: Record<string, unknown>, actor: Actor): Promise<string> {
    const ref = parseUploadUrl(url, 'images', this.limits.images)
    const resize = parseResize(params, this.limits.images)
    if (!resize) throw inputError('processing an image needs w, h or both', params.w, 'w')
    const meta = await this.#owned(ref, actor)
    await this.#variant(meta, resize, callerOf(actor))
    return `${uploadPath('images', meta.id, meta.name)}?${resizeQuery(resize)}`
  }

  /**
   * The answer for `GET uploads/<kind>/<id>/<name>[?w=&h=&resize=&crop=]` (no authentication: the
   * id is the capability); `caller` (the requester's address) is whom a render waits as.
   */
  async serve(
    kind: string,
    id: string,
    name: string,
    query: Record<string, unknown>,
    etag?: string,
    caller = 'app',
  ): Promise<Served> {
    const missing: Served = { status: 404, headers: {} }
    if ((kind !== 'files' && kind !== 'images') || !isBlobId(id)) return missing
    const meta = await this.blobs.head(kind, id)
    if (!meta || meta.name !== name) return missing
    const resize = kind === 'images' ? parseResize(query, this.limits.images) : undefined
    const tag = `"${id}${resize ? `-${createHash('sha1').update(resizeQuery(resize)).digest('hex').slice(0, 16)}` : ''}"`
    const headers: Record<string, string> = {
      'content-type': servedType(meta.type),
      // Upload URLs never change content (a new upload gets a new id), so caches may keep them.
      'cache-control': 'public, max-age=31536000, immutable',
      etag: tag,
      'x-content-type-options': 'nosniff',
      // Even a file a browser is talked into rendering runs no script and loads nothing.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      'cross-origin-resource-policy': 'cross-origin',
      'content-disposition': contentDisposition(kind === 'images' ? 'inline' : 'attachment', meta.name),
    }
    if (etag === tag) return { status: 304, headers }
    let body: Buffer
    if (resize) body = await this.#variant(meta, resize, caller)
    else {
      const blob = await this.blobs.get(kind, id)
      if (!blob) return missing
      body = blob.bytes
    }
    return { status: 200, headers, body }
  }

  /** Releases the blob store. */
  async close(): Promise<void> {
    await this.blobs.close()
  }

  async #owned(ref: UploadRef, actor: Actor): Promise<BlobMeta> {
    const meta = await this.blobs.head(ref.kind, ref.id)
    if (!meta || meta.name !== ref.name) throw gone(ref.name)
    if (actor.userId !== undefined && meta.owner !== actor.userId) throw notAllowed()
    return meta
  }

  async #variant(meta: BlobMeta, resize: Resize, caller: string): Promise<Buffer> {
    const key = `${meta.id}?${resizeQuery(resize)}`
    const cached = this.#variants.get(key)
    if (cached) {
      this.#variants.delete(key)
      this.#variants.set(key, cached)
      return cached
    }
    const blob = await this.blobs.get('images', meta.id)
    if (!blob) throw gone(meta.name)
    const out = await this.#renders.run(caller, () =>
      render(blob.bytes, meta.type, resize, this.limits.images),
    )
    this.#variants.set(key, out)
    this.#variantBytes += out.length
    for (const [k, v] of this.#variants) {
      if (this.#variantBytes <= VARIANT_CACHE_BYTES) break
      this.#variants.delete(k)
      this.#variantBytes -= v.length
    }
    return out
  }

  #dropVariants(id: string): void {
    for (const [k, v] of this.#variants) {
      if (!k.startsWith(`${id}?`)) continue
      this.#variants.delete(k)
      this.#variantBytes -= v.length
    }
  }
}

/** Where an upload URL (absolute, or a path) points; a 400 when it is not one of this server's uploads of `kind`. */
export function parseUploadUrl(url: unknown, kind: UploadKind, limits: ImageLimits): UploadRef {
  if (typeof url !== 'string' || url === '' || url.length > 4096)
    throw inputError('url must be the URL of an upload', url, 'url')
  let parsed: URL
  try {
    parsed = new URL(url, 'http://eddy.invalid/')
  } catch {
    throw inputError('url must be the URL of an upload', url, 'url')
  }
  const match = UPLOAD_PATH.exec(parsed.pathname)
  if (!match || !isBlobId(match[2]))
    throw inputError(`url is not the URL of a file uploaded to this server's ${kind}/`, url, 'url')
  if (match[1] !== kind) throw inputError(`url is an upload of ${match[1]}/, not of ${kind}/`, url, 'url')
  let name: string
  try {
    name = decodeURIComponent(match[3])
  } catch {
    throw inputError('url must be the URL of an upload', url, 'url')
  }
  const query = Object.fromEntries(parsed.searchParams)
  const resize = kind === 'images' ? parseResize(query, limits) : undefined
  return { kind, id: match[2], name, resize }
}

function gone(url: unknown): EddyError {
  return notFound(
    `no upload at ${typeof url === 'string' ? url.slice(0, 300) : 'this url'} (deleted, or never uploaded)`,
  )
}

/** 413 with Stream's error body: the upload is over its kind's size limit. */
export function tooLarge(kind: UploadKind, max: number): Error {
  const what = kind === 'images' ? 'an image' : 'a file'
  return Object.assign(new Error(`${what} may be at most ${max} bytes; this upload is larger`), {
    statusCode: 413,
  })
}
