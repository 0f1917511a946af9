/**
 * Link previews (`GET og/?url=`): the page is fetched by safe-fetch.ts (public addresses only,
 * each redirect checked, a deadline, a byte cap), its Open Graph tags read by
 * `open-graph-scraper` from the HTML, and the answer shaped as Stream's (title, description,
 * url, site_name, images[{ image, url, secure_url, width, height, type, alt }], favicon...),
 * cached by URL.
 */
import { EddyError, inputError } from '../engine/errors.js'
import { type FetchPolicy, FetchRefused, type Resolver, safeFetch } from './safe-fetch.js'

/** Link preview settings (docs/server.md, Link previews). */
export interface OgOptions {
  /**
   * Fetch pages on private, loopback and link-local addresses too: `true`, or a list of CIDR
   * ranges (`['10.1.0.0/16']`). Off by default: a user could otherwise read the server's network.
   */
  allowPrivate?: boolean | string[]
  /** Milliseconds for the whole fetch, redirects included (default 5000). */
  timeoutMs?: number
  /** Bytes of a page read at most (default 1 MiB). */
  maxBytes?: number
  /** Redirects followed (default 5). */
  maxRedirects?: number
  /** Previews kept (default 1000), each for `cacheSeconds` (default 3600). */
  cacheEntries?: number
  cacheSeconds?: number
  /** Scrapes at once; more get a 503 (default 16). */
  concurrency?: number
  /** A dns.lookup-shaped resolver (default the system's). */
  resolve?: Resolver
}

/** One preview, as Stream returns it. */
export interface OgResult {
  title?: string
  type?: string
  url?: string
  original_url: string
  site_name?: string
  description?: string
  locale?: string
  determiner?: string
  favicon?: string
  images?: {
    image: string
    url: string
    secure_url?: string
    width?: number
    height?: number
    type?: string
    alt?: string
  }[]
  videos?: {
    video: string
    url: string
    secure_url?: string
    width?: number
    height?: number
    type?: string
  }[]
  audios?: { audio: string; url: string; secure_url?: string; type?: string }[]
}

/** Stream's answer for a page without preview data (its exact words). */
export const NO_OG_DATA = "couldn't find og data for the provided url"

/** Link previews with a cache and SSRF protection. */
export class OpenGraph {
  readonly #policy: FetchPolicy
  readonly #cache = new Map<string, { at: number; result: OgResult | string }>()
  readonly #entries: number
  readonly #ttlMs: number
  readonly #concurrency: number
  #running = 0

  constructor(options: OgOptions = {}) {
    this.#policy = {
      allowPrivate: options.allowPrivate ?? false,
      timeoutMs: options.timeoutMs ?? 5000,
      maxBytes: options.maxBytes ?? 1024 * 1024,
      maxRedirects: options.maxRedirects ?? 5,
      resolve: options.resolve,
    }
    this.#entries = options.cacheEntries ?? 1000
    this.#ttlMs = (options.cacheSeconds ?? 3600) * 1000
    this.#concurrency = options.concurrency ?? 16
  }

  /** The preview of `url`, or Stream's 400. */
  async scrape(url: unknown): Promise<OgResult> {
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url) || url.length > 2048)
      throw inputError('url must be an http or https URL of at most 2048 characters', url, 'url')
    const hit = this.#cache.get(url)
    let result: OgResult | string
    if (hit && Date.now() - hit.at < this.#ttlMs) result = hit.result
    else {
      if (this.#running >= this.#concurrency)
        throw new EddyError(
          'ServiceUnavailableException',
          'too many link previews are being fetched; retry in a moment',
        )
      this.#running++
      try {
        result = await this.#fetch(url)
      } finally {
        this.#running--
      }
      this.#remember(url, result)
    }
    if (typeof result === 'string') throw new EddyError('InputException', NO_OG_DATA, { url: [result] })
    return structuredClone(result)
  }

  #remember(url: string, result: OgResult | string): void {
    this.#cache.delete(url)
    this.#cache.set(url, { at: Date.now(), result })
    // Failures are kept briefly too, so a slow or refused URL cannot be hammered through us.
    while (this.#cache.size > this.#entries) this.#cache.delete(this.#cache.keys().next().value as string)
  }

  /** The preview, or why there is none (a string). */
  async #fetch(url: string): Promise<OgResult | string> {
    let page: Awaited<ReturnType<typeof safeFetch>>
    try {
      page = await safeFetch(url, this.#policy, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1')
    } catch (error) {
      if (error instanceof FetchRefused) return error.message
      throw error
    }
    if (page.status >= 400) return `the page answered HTTP ${page.status}`
    if (page.body.length === 0) return 'the page is not HTML'
    // Loaded on first use: importing Eddy does not load the scraper and its HTML parser.
    const ogs = (await import('open-graph-scraper')).default
    const { result } = await ogs({ html: page.body.toString('utf8') }).catch(() => ({ result: undefined }))
    if (!result || (!result.ogTitle && !result.ogDescription && !result.ogImage?.length))
      return 'no preview tags'
    const abs = (u: string | undefined) => {
      if (!u) return undefined
      try {
        const parsed = new URL(u, page.url)
        return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.toString() : undefined
      } catch {
        return undefined
      }
    }
    const out: OgResult = { original_url: url, url: abs(result.ogUrl) ?? page.url }
    if (result.ogTitle) out.title = result.ogTitle
    if (result.ogType) out.type = result.ogType
    if (result.ogSiteName) out.site_name = result.ogSiteName
    if (result.ogDescription) out.description = result.ogDescription
    if (result.ogLocale) out.locale = result.ogLocale
    if (result.ogDeterminer) out.determiner = result.ogDeterminer
    const favicon = abs(result.favicon ?? '/favicon.ico')
    if (favicon) out.favicon = favicon
    const images = (result.ogImage ?? []).slice(0, 10).flatMap((i) => {
      const image = abs(i.url)
      if (!image) return []
      const entry: NonNullable<OgResult['images']>[number] = { image, url: image }
      if (image.startsWith('https:')) entry.secure_url = image
      if (Number(i.width) > 0) entry.width = Number(i.width)
      if (Number(i.height) > 0) entry.height = Number(i.height)
      if (i.type) entry.type = i.type
      if (i.alt) entry.alt = i.alt
      return [entry]
    })
    if (images.length > 0) out.images = images
    const videos = (result.ogVideo ?? []).slice(0, 10).flatMap((v) => {
      const video = abs(v.url)
      return video ? [{ video, url: video, ...(v.type ? { type: v.type } : {}) }] : []
    })
    if (videos.length > 0) out.videos = videos
    const audio = abs(result.ogAudioURL ?? result.ogAudio)
    if (audio) out.audios = [{ audio, url: audio }]
    return out
  }
}
