/**
 * What the V3 attacker tests share: tokens signed by hand (with the app's secret or a guessed
 * one), raw calls that send whatever the attacker likes, and raw WebSockets on `/api/v2/connect`.
 */
import { SignJWT } from 'jose'
import { WebSocket } from 'ws'
import { KEY, SECRET, type V3Server } from './harness.js'

/** V3's error body, as far as the attacker tests read it. */
export interface V3Error {
  code: number
  StatusCode: number
  message: string
}

/** A raw call's status and body (an error body, or whatever the operation answers). */
export interface RawAnswer {
  status: number
  body: V3Error & Record<string, unknown>
}

/** A JWT for `payload`, signed with the app's secret unless another is given. */
export const sign = (payload: Record<string, unknown>, secret = SECRET): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))

/**
 * Calls `path` (under `/api/v2`) on `s` as the attacker: with `token` as a JWT, or anonymously
 * when it is undefined; `headers` are added to (or replace) the usual ones.
 */
export async function raw(
  s: V3Server,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const auth: Record<string, string> =
    token === undefined
      ? { 'stream-auth-type': 'anonymous' }
      : { authorization: token, 'stream-auth-type': 'jwt' }
  const response = await fetch(`${s.base}/api/v2${path}${path.includes('?') ? '&' : '?'}api_key=${KEY}`, {
    method,
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as RawAnswer['body'] }
}

/** Opens a raw WebSocket on `s`'s `/api/v2/connect` with `query` (the client's, unless given). */
export async function openSocket(
  s: V3Server,
  query = `api_key=${KEY}&stream-auth-type=jwt`,
): Promise<WebSocket> {
  const ws = new WebSocket(`${s.base.replace('http', 'ws')}/api/v2/connect?${query}`)
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  return ws
}

/** The next message `ws` receives, parsed. */
export function nextMessage<T = Record<string, unknown>>(ws: WebSocket): Promise<T> {
  return new Promise((resolve) => ws.once('message', (m) => resolve(JSON.parse(String(m)) as T)))
}

/** Resolves with `ws`'s close code once it closes. */
export function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve(1006)
    else ws.once('close', (code) => resolve(code))
  })
}

/** The connection id of a connected feeds-client (the SDK keeps it on its socket wrapper). */
export function connectionIdOf(client: object): string {
  return (client as { wsConnection: { connectionID: string } }).wsConnection.connectionID
}

/** Resolves after `ms`: the time an event that should not come is given to arrive. */
export const quiet = (ms = 200): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
