/**
 * Fetching a page a user named, without letting the user aim the server at its own network
 * (SSRF): every hop's host is resolved here, every address it resolves to must be public (no
 * loopback, private, link-local, carrier-grade NAT, metadata or multicast range), and the
 * connection goes to the address that was checked, so a DNS answer that changes between the
 * check and the connect (rebinding) cannot slip in. Redirects are followed by hand and each is
 * checked again. The whole fetch has one deadline and the body a byte cap.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { BlockList, isIP } from 'node:net'

/** A dns.lookup-shaped resolver (all addresses). */
export type Resolver = (
  hostname: string,
  options: { all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

/** What one fetch may do. */
export interface FetchPolicy {
  /**
   * `true` lets pages on private and loopback addresses be fetched (an operator's switch, for
   * an intranet or tests); a list of CIDR ranges allows just those. Default false.
   */
  allowPrivate: boolean | string[]
  /** Milliseconds for the whole fetch, redirects included. */
  timeoutMs: number
  /** Bytes of body read at most; the rest is not downloaded. */
  maxBytes: number
  maxRedirects: number
  /** Resolver (default dns.lookup); tests use it to play a rebinding DNS server. */
  resolve?: Resolver
}

/** A fetched page. */
export interface Fetched {
  /** The URL after redirects. */
  url: string
  status: number
  contentType: string
  body: Buffer
}

/** Why a fetch was refused or failed, in words for the 400 detail. */
export class FetchRefused extends Error {}

const BLOCKED = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6')

/** Whether `address` may be fetched under `allowPrivate`. */
export function addressAllowed(address: string, allowPrivate: FetchPolicy['allowPrivate']): boolean {
  if (allowPrivate === true) return true
  let family = isIP(address)
  if (family === 0) return false
  let ip = address
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) {
    ip = mapped[1]
    family = 4
  }
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (Array.isArray(allowPrivate)) {
    const allowed = new BlockList()
    for (const cidr of allowPrivate) {
      const [net, bits] = cidr.split('/')
      const v = isIP(net) === 6 ? 'ipv6' : 'ipv4'
      allowed.addSubnet(net, Number(bits ?? (v === 'ipv4' ? 32 : 128)), v)
    }
    if (allowed.check(ip, type)) return true
  }
  return !BLOCKED.check(ip, type)
}

/** Fetches `url` under `policy`; throws {@link FetchRefused} with a reason. */
export async function safeFetch(url: string, policy: FetchPolicy, accept: string): Promise<Fetched> {
  const deadline = Date.now() + policy.timeoutMs
  let current = url
  for (let hop = 0; hop <= policy.maxRedirects; hop++) {
    const response = await fetchOnce(current, policy, deadline, accept)
    if ('location' in response) {
      current = response.location
      continue
    }
    return response
  }
  throw new FetchRefused(`more than ${policy.maxRedirects} redirects`)
}

function target(raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FetchRefused('not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchRefused('only http and https URLs')
  if (url.username || url.password) throw new FetchRefused('URLs with credentials are not fetched')
  return url
}

function fetchOnce(
  raw: string,
  policy: FetchPolicy,
  deadline: number,
  accept: string,
): Promise<Fetched | { location: string }> {
  const url = target(raw)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) && !addressAllowed(host, policy.allowPrivate))
    return Promise.reject(new FetchRefused(`${host} is not a public address`))
  const resolve = policy.resolve ?? (dnsLookup as unknown as Resolver)
  // Called by net for a host name: resolves once, checks every address, connects to a checked one.
  const lookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolve(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(new FetchRefused(`${hostname} does not resolve`), '')
      const list = addresses ?? []
      const bad = list.find((a) => !addressAllowed(a.address, policy.allowPrivate))
      if (list.length === 0 || bad)
        return callback(
          // The address itself is not echoed: answers would map the server's internal DNS for the caller.
          new FetchRefused(`${hostname} resolves to ${bad ? 'an address that is not public' : 'nothing'}`),
          '',
        )
      if (options.all) callback(null, list)
      else callback(null, list[0].address, list[0].family)
    })
  }
  return new Promise((resolvePromise, reject) => {
    const left = deadline - Date.now()
    if (left <= 0) return reject(new FetchRefused(`no answer within ${policy.timeoutMs} ms`))
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'GET',
      lookup: lookup as never,
      // No keep-alive pool: each connection is made, and checked, for this hop alone.
      agent: false,
      headers: {
        'user-agent': 'Mozilla/5.0 (compatible; Eddy link preview)',
        accept,
        // Compressed bodies are not inflated: a small gzip cannot become a huge page here.
        'accept-encoding': 'identity',
      },
    })
    const timer = setTimeout(
      () => request.destroy(new FetchRefused(`no answer within ${policy.timeoutMs} ms`)),
      left,
    )
    const fail = (error: Error) => {
      clearTimeout(timer)
      reject(error instanceof FetchRefused ? error : new FetchRefused(error.message))
    }
    request.on('error', fail)
    request.on('response', (response) => {
      const status = response.statusCode ?? 0
      const location = response.headers.location
      if (status >= 300 && status < 400 && location) {
        clearTimeout(timer)
        response.resume()
        request.destroy()
        try {
          return resolvePromise({ location: new URL(location, url).toString() })
        } catch {
          return reject(new FetchRefused('a redirect to something that is not a URL'))
        }
      }
      const contentType = String(response.headers['content-type'] ?? '')
      const chunks: Buffer[] = []
      let size = 0
      const done = () => {
        clearTimeout(timer)
        resolvePromise({ url: url.toString(), status, contentType, body: Buffer.concat(chunks) })
      }
      // Only markup is read; anything else (a binary download) is not, and not needed.
      if (!/^(text\/html|application\/xhtml\+xml)/i.test(contentType)) {
        response.destroy()
        return done()
      }
      response.on('data', (chunk: Buffer) => {
        const room = policy.maxBytes - size
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk)
        size += Math.min(chunk.length, room)
        // The head of a page holds its tags: past the cap, what was read is used and the rest dropped.
        if (size >= policy.maxBytes) {
          response.destroy()
          done()
        }
      })
      response.on('end', done)
      response.on('error', fail)
    })
    request.end()
  })
}
