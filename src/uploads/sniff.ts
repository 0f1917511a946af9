/**
 * What an upload is, read from its bytes (never from its name or the Content-Type the client
 * sent), and the name it is shown under. The type decides what an upload may be (images/ takes
 * raster images only) and what it is served as: anything that could run script in a browser
 * (HTML, SVG, XML, JavaScript) is served as text or as bytes, never as itself.
 */

/** Raster image types images/ accepts, by the name sharp gives their format. */
export const IMAGE_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
}

const MAGIC: [number, number[], string][] = [
  [0, [0xff, 0xd8, 0xff], 'image/jpeg'],
  [0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [0, [0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [0, [0x25, 0x50, 0x44, 0x46, 0x2d], 'application/pdf'],
  [0, [0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [0, [0x1f, 0x8b], 'application/gzip'],
  [0, [0x4f, 0x67, 0x67, 0x53], 'audio/ogg'],
  [0, [0x49, 0x44, 0x33], 'audio/mpeg'],
  [0, [0x66, 0x4c, 0x61, 0x43], 'audio/flac'],
  [0, [0x1a, 0x45, 0xdf, 0xa3], 'video/webm'],
]

function startsWith(bytes: Buffer, at: number, magic: number[]): boolean {
  if (bytes.length < at + magic.length) return false
  return magic.every((b, i) => bytes[at + i] === b)
}

/**
 * The media type of `bytes`: a known binary format by its signature, `text/plain` for UTF-8
 * text with no NUL, `application/octet-stream` for anything else. Markup that a browser would
 * render (HTML, SVG, XML) is reported as `image/svg+xml` or `text/html` so callers can refuse or
 * defuse it; it is never served as such (see {@link servedType}).
 */
export function sniff(bytes: Buffer): string {
  for (const [at, magic, type] of MAGIC) if (startsWith(bytes, at, magic)) return type
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp'
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE')
    return 'audio/wav'
  if (bytes.toString('latin1', 4, 8) === 'ftyp') {
    const brand = bytes.toString('latin1', 8, 12)
    if (brand === 'avif' || brand === 'avis') return 'image/avif'
    if (brand.startsWith('heic') || brand === 'mif1') return 'image/heic'
    return 'video/mp4'
  }
  if (!isText(bytes)) return 'application/octet-stream'
  const head = bytes
    .toString('utf8', 0, 4096)
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase()
  if (/<svg[\s>]/.test(head)) return 'image/svg+xml'
  if (/^<(!doctype html|html|head|body|script|iframe)[\s>]/.test(head) || /<script[\s>]/.test(head))
    return 'text/html'
  if (head.startsWith('<?xml')) return 'application/xml'
  return 'text/plain'
}

/** UTF-8 with no NUL byte (a binary file is almost never that). */
function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false
  const sample = bytes.subarray(0, 64 * 1024)
  // A sample cut inside a multi-byte character is still text: allow up to 3 trailing bytes then.
  const cuts = sample.length < bytes.length ? 4 : 1
  for (let cut = 0; cut < cuts && cut <= sample.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, sample.length - cut))
      return true
    } catch {}
  }
  return false
}

/** Types served as themselves; everything else is served as bytes to download. */
const SERVED_AS_IS = new Set([
  ...Object.values(IMAGE_TYPES),
  'application/pdf',
  'application/zip',
  'application/gzip',
  'audio/ogg',
  'audio/mpeg',
  'audio/flac',
  'audio/wav',
  'video/webm',
  'video/mp4',
  'text/plain',
])

/**
 * The Content-Type an upload of sniffed type `type` is served with: HTML, SVG and XML become
 * `text/plain` (shown as source, never rendered), unknown types `application/octet-stream`.
 */
export function servedType(type: string): string {
  if (type === 'text/html' || type === 'image/svg+xml' || type === 'application/xml' || type === 'text/plain')
    return 'text/plain; charset=utf-8'
  return SERVED_AS_IS.has(type) ? type : 'application/octet-stream'
}

const MAX_NAME_BYTES = 200

/**
 * The name an upload is shown under: the last path segment of what the client sent (`../../x`
 * and `C:\\x` keep only `x`), without control characters, leading dots or characters that mean
 * something in a URL path or a header, at most 200 bytes, `file` when nothing is left.
 */
export function safeName(name: string | undefined): string {
  let base = (name ?? '').normalize('NFC').split(/[/\\]/).pop() ?? ''
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  base = base.replace(/[\u0000-\u001f\u007f-\u009f"%;?#*<>|:]/g, '_').trim()
  base = base.replace(/^\.+/, '')
  while (Buffer.byteLength(base) > MAX_NAME_BYTES) base = base.slice(0, -1)
  return base === '' ? 'file' : base
}

/** A Content-Disposition header for `name`: ASCII fallback plus the exact name in RFC 5987 form. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}
