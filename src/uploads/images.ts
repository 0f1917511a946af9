/**
 * Image checks and processing with sharp: what images/ accepts (a raster image sharp can read,
 * within a pixel budget, so a small file that decodes to gigapixels is refused before it is
 * decoded), and Stream's resize parameters (`w`, `h`, `resize`, `crop`) rendered within bounds of
 * pixels, time and concurrent work, shared fairly between callers.
 */
import type { FitEnum, FormatEnum, Metadata, Sharp, SharpOptions } from 'sharp'
import { EddyError, inputError } from '../engine/errors.js'
import { IMAGE_TYPES } from './sniff.js'

/** Bounds of image work, each configurable (docs/server.md, Uploads). */
export interface ImageLimits {
  /** Largest image accepted or read, in pixels (width × height × frames). Default 40 million. */
  maxInputPixels: number
  /** Largest side of a processed image. Default 4096. */
  maxSide: number
  /** Seconds one render may take. Default 10. */
  renderSeconds: number
  /** Renders run at once; more wait in line. Default 2. */
  concurrency: number
  /** Renders waiting, all callers together; past it a 503. Default 64. */
  queue: number
  /** Renders one caller (a user, or an address) may have waiting; past it a 429. Default 4. */
  queuePerCaller: number
}

// sharp loads its native library on first use, not when Eddy is imported.
type SharpFactory = (input: Buffer, options: SharpOptions) => Sharp
let loaded: Promise<SharpFactory> | undefined
async function sharp(input: Buffer, options: SharpOptions): Promise<Sharp> {
  loaded ??= import('sharp').then((m) => (m as unknown as { default: SharpFactory }).default)
  return (await loaded)(input, options)
}

/** Default {@link ImageLimits}. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxInputPixels: 40_000_000,
  maxSide: 4096,
  renderSeconds: 10,
  concurrency: 2,
  queue: 64,
  queuePerCaller: 4,
}

/** Stream's `resize` modes: fit inside, cover and cut, stretch, fit inside and pad. */
export const RESIZE_MODES = ['clip', 'crop', 'scale', 'fill'] as const
const CROPS = ['top', 'bottom', 'left', 'right', 'center'] as const

/** Parsed, valid processing parameters. */
export interface Resize {
  w?: number
  h?: number
  resize: (typeof RESIZE_MODES)[number]
  crop: string
}

/** The image's format as a media type, from sharp's reading of its header (undefined: not an accepted raster image). */
export async function imageType(
  bytes: Buffer,
  limits: ImageLimits,
): Promise<{ type?: string; pixels: number }> {
  let meta: Metadata
  try {
    meta = await (await sharp(bytes, { limitInputPixels: false })).metadata()
  } catch {
    return { pixels: 0 }
  }
  const type = meta.format ? IMAGE_TYPES[meta.format] : undefined
  const pixels = (meta.width ?? 0) * (meta.height ?? 0) * (meta.pages ?? 1)
  if (type && pixels > limits.maxInputPixels)
    throw inputError(
      `the image is ${meta.width}x${meta.height}${(meta.pages ?? 1) > 1 ? ` with ${meta.pages} frames` : ''}; images may have at most ${limits.maxInputPixels} pixels`,
      pixels,
      'file',
    )
  return { type, pixels }
}

/**
 * Decodes the whole image once (within the limits): a file whose header reads as an image but
 * whose data does not decode (truncated, corrupt, a polyglot with a fake header) is refused.
 */
export async function checkDecodes(bytes: Buffer, limits: ImageLimits): Promise<void> {
  try {
    await (await sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'error' }))
      .timeout({ seconds: limits.renderSeconds })
      .resize(8, 8, { fit: 'inside' })
      .toBuffer()
  } catch (error) {
    throw inputError(
      'the image could not be decoded (corrupt or truncated)',
      String((error as Error).message),
      'file',
    )
  }
}

function dimension(value: unknown, name: string, max: number): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = typeof value === 'number' ? value : Number(value)
  if (typeof value === 'string' && !/^\d+$/.test(value.trim()))
    throw inputError(`${name} must be a whole number of pixels from 1 to ${max}`, value, name)
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw inputError(`${name} must be a whole number of pixels from 1 to ${max}`, value, name)
  return n
}

/** Stream's processing parameters from a query (strings) or an object, validated; a 400 names what is wrong. */
export function parseResize(input: Record<string, unknown>, limits: ImageLimits): Resize | undefined {
  const w = dimension(input.w, 'w', limits.maxSide)
  const h = dimension(input.h, 'h', limits.maxSide)
  const resize = input.resize === undefined || input.resize === '' ? 'clip' : input.resize
  if (!RESIZE_MODES.includes(resize as never))
    throw inputError(`resize must be one of ${RESIZE_MODES.join(', ')}`, resize, 'resize')
  const crop = input.crop === undefined || input.crop === '' ? 'center' : input.crop
  const parts = typeof crop === 'string' ? crop.split(',').map((s) => s.trim()) : []
  if (parts.length === 0 || parts.length > 2 || parts.some((p) => !CROPS.includes(p as never)))
    throw inputError(`crop must be one or two of ${CROPS.join(', ')}, comma-separated`, crop, 'crop')
  if (w === undefined && h === undefined) {
    if (input.resize !== undefined || input.crop !== undefined)
      throw inputError('processing an image needs w, h or both', input.w, 'w')
    return undefined
  }
  return { w, h, resize: resize as Resize['resize'], crop: parts.join(',') }
}

/** The query string that names a resize (the same parameters Stream's image URLs take). */
export function resizeQuery(r: Resize): string {
  const q = new URLSearchParams()
  if (r.w !== undefined) q.set('w', String(r.w))
  if (r.h !== undefined) q.set('h', String(r.h))
  q.set('resize', r.resize)
  q.set('crop', r.crop)
  return q.toString()
}

/** sharp's gravity for Stream's `crop` (`bottom,right` is the south-east corner). */
function gravity(crop: string): string {
  const parts = crop.split(',')
  const v = parts.includes('top') ? 'north' : parts.includes('bottom') ? 'south' : ''
  const h = parts.includes('left') ? 'west' : parts.includes('right') ? 'east' : ''
  return v + h || 'centre'
}

const FIT: Record<Resize['resize'], keyof FitEnum> = {
  clip: 'inside',
  crop: 'cover',
  scale: 'fill',
  fill: 'contain',
}

/**
 * Runs renders a few at a time, fairly: each caller (a user, or an address for the public image
 * URLs) waits in a line of its own, and a freed slot goes to the next caller in turn, so one
 * caller's burst cannot starve the others. A caller with `queuePerCaller` renders waiting gets
 * Stream's 429; a full queue (all callers) Stream's 503.
 */
export class RenderQueue {
  #running = 0
  #waiting = 0
  // Callers in turn order (a Map keeps insertion order): the one served moves to the back.
  readonly #lines = new Map<string, (() => void)[]>()

  constructor(readonly limits: ImageLimits) {}

  /** Renders now waiting, all callers together. */
  get waiting(): number {
    return this.#waiting
  }

  /** Runs `work` for `caller` when a slot is free and it is that caller's turn. */
  async run<T>(caller: string, work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limits.concurrency) {
      const line = this.#lines.get(caller) ?? []
      if (line.length >= this.limits.queuePerCaller)
        throw new EddyError(
          'RateLimitReached',
          `you have ${line.length} images waiting to be processed (at most ${this.limits.queuePerCaller}); retry once they are done`,
        )
      if (this.#waiting >= this.limits.queue)
        throw new EddyError(
          'ServiceUnavailableException',
          'too many images are being processed; retry in a moment',
        )
      this.#waiting++
      await new Promise<void>((resolve) => {
        line.push(resolve)
        if (line.length === 1) this.#lines.set(caller, line)
      })
    } else this.#running++
    try {
      return await work()
    } finally {
      this.#next()
    }
  }

  /** Hands the freed slot to the first caller in turn, who then goes to the back of the turns. */
  #next(): void {
    const first = this.#lines.entries().next()
    if (first.done) {
      this.#running--
      return
    }
    const [caller, line] = first.value
    const resolve = line.shift() as () => void
    this.#waiting--
    this.#lines.delete(caller)
    if (line.length > 0) this.#lines.set(caller, line)
    resolve()
  }
}

/** Renders `bytes` (an accepted image of media type `type`) resized as `r`, in the same format. */
export async function render(bytes: Buffer, type: string, r: Resize, limits: ImageLimits): Promise<Buffer> {
  const format = Object.keys(IMAGE_TYPES).find((f) => IMAGE_TYPES[f] === type)
  if (!format) throw inputError('only uploaded raster images can be processed', type, 'url')
  try {
    return await (await sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'error' }))
      .timeout({ seconds: limits.renderSeconds })
      .rotate()
      .resize(r.w ?? null, r.h ?? null, {
        fit: FIT[r.resize],
        position: gravity(r.crop),
        // A thumbnail (clip) never blows a small picture up; crop, scale and fill give the size asked for.
        withoutEnlargement: r.resize === 'clip',
        background: { r: 255, g: 255, b: 255, alpha: type === 'image/jpeg' ? 1 : 0 },
      })
      .toFormat(format as keyof FormatEnum)
      .toBuffer()
  } catch (error) {
    throw inputError('the image could not be processed', String((error as Error).message), 'url')
  }
}
