/**
 * The doors into Faye. The `faye` package's Node adapter reads a POST body whole with no limit
 * (a 540 MiB body threw ERR_STRING_TOO_LONG and ended the process), parses URLs with `new URL`
 * in the server's request listener (`GET //[` threw there), takes WebSocket messages up to 64 MiB,
 * and answers every origin's CORS request with credentials. So Eddy serves Faye's transports
 * itself and hands only bounded, well-formed messages to the adapter's Bayeux server:
 *
 * - POST (long polling) and GET `?message=` (JSON-P): at most `bodyLimit` bytes (413 above, the
 *   upload is cut off), JSON of at most `FAYE_BOUNDS` nesting, `MAX_MESSAGES`
 *   messages, each an object with a string channel (400 otherwise, in Stream's error shape);
 * - POST bodies are read under the server's upload budget (upload-budget.ts): 503 past it;
 * - WebSocket: the same checks per message, frames over `bodyLimit` closed with 1009;
 * - CORS as the REST routes (cors.ts): only allowed origins get `Access-Control-Allow-Origin`
 *   (with credentials, which Faye's browser transport sends); since WebSockets and JSON-P are
 *   not held back by browsers, a request from another origin is refused with a 403, and JSON-P
 *   (a `<script>` sends no Origin) is served only when any origin may call;
 * - upgrades on other paths are answered 404 and closed (nothing else on the server takes them).
 *
 * Static files (`/faye/client.js`) and EventSource streams carry no body and stay the adapter's.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import { EddyError, inputError } from '../engine/errors.js'
import { type CorsOption, corsAllows } from './cors.js'
import { httpErrorBody } from './errors.js'
import { type BayeuxInput, fail, isEventSource, parseMessages, refuse, send, single } from './faye-http.js'
import { dropRest, type UploadBudget, uploadBudgetError } from './upload-budget.js'

const JSONP_CALLBACK = /^[a-z_$][a-z0-9_$]*(\.[a-z_$][a-z0-9_$]*)*$/i
const PREFLIGHT_HEADERS = 'Accept, Authorization, Content-Type, Pragma, X-Requested-With'

/** What this module needs of faye's NodeAdapter (its Bayeux server is `_server`, pinned by the lock file). */
export interface FayeAdapterInternals {
  handle(request: IncomingMessage, response: ServerResponse): void
  _server: {
    process(messages: BayeuxInput[], request: IncomingMessage, callback: (replies: unknown[]) => void): void
    openSocket(clientId: string, socket: unknown, request: IncomingMessage): void
    closeSocket(clientId: string, close?: boolean): void
    /** The engine's connections: realtime.ts ends an idle one when the connection cap is full. */
    _engine: { destroyClient(clientId: string): void; unsubscribe(clientId: string, channel: string): void }
  }
}

interface FayeWebSocket {
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: (() => void) | null
  send(text: string): boolean
  close(code?: number, reason?: string): boolean
}
interface WebSocketModule {
  new (
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocols: string[],
    options: { maxLength: number },
  ): FayeWebSocket
  isWebSocket(request: IncomingMessage): boolean
}

/** Limits and CORS of the Faye endpoint. */
export interface FayeTransportOptions {
  path: string
  /** Largest body, query message or WebSocket message in bytes. */
  bodyLimit: number
  cors: CorsOption
  /** The request-body bytes the whole server reads at once, shared with the API routes. */
  uploads: UploadBudget
}

/** The Faye endpoint's HTTP and WebSocket transports; see the module comment. */
export class FayeTransport {
  readonly #adapter: FayeAdapterInternals
  readonly #options: FayeTransportOptions
  readonly #WebSocket: WebSocketModule
  /** Long polls and WebSockets, ended by close() (they would hold the server's close for a poll timeout). */
  readonly #sockets = new Set<Duplex>()

  constructor(adapter: FayeAdapterInternals, options: FayeTransportOptions) {
    this.#adapter = adapter
    this.#options = options
    // faye's own WebSocket server (faye-websocket), loaded through faye so its copy is the one found.
    const fromFaye = createRequire(createRequire(import.meta.url).resolve('faye'))
    this.#WebSocket = fromFaye('faye-websocket') as WebSocketModule
  }

  /** Takes `server`'s requests and upgrades for the Faye path; the others go on to its own listeners. */
  attach(server: Server): void {
    const requests = server.listeners('request') as ((...args: unknown[]) => void)[]
    const upgrades = server.listeners('upgrade') as ((...args: unknown[]) => void)[]
    server.removeAllListeners('request')
    server.removeAllListeners('upgrade')
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (!this.#mine(request)) for (const listener of requests) listener.call(server, request, response)
      else this.#guard(response, () => this.#request(request, response))
    })
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined) // a peer that resets must not raise an unhandled 'error'
      if (this.#mine(request)) this.#guard(socket, () => this.#upgrade(request, socket, head))
      else if (upgrades.length > 0)
        for (const listener of upgrades) listener.call(server, request, socket, head)
      else refuse(socket, 404, 'Not Found')
    })
  }

  /** Ends the open long polls and WebSockets. */
  close(): void {
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
  }

  #mine(request: IncomingMessage): boolean {
    const path = (request.url ?? '').split('?', 1)[0]
    const mount = this.#options.path
    return path === mount || path === `${mount}.js` || path.startsWith(`${mount}/`)
  }

  /** Runs `work`; anything it throws answers 500 (or closes the socket) instead of reaching the event emitter. */
  #guard(target: ServerResponse | Duplex, work: () => void): void {
    try {
      work()
    } catch {
      if ('writeHead' in target && !target.headersSent) send(target, 500, {}, 'internal server error')
      else target.destroy()
    }
  }

  #track(socket: Duplex): void {
    if (this.#sockets.has(socket)) return
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
  }

  /** CORS headers for `origin` (none when `cors` does not allow it). */
  #corsHeaders(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !corsAllows(this.#options.cors, origin)) return {}
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      Vary: 'Origin',
    }
  }

  /** Whether a request from `origin` may go on: an allowed origin, or the server's own. */
  #mayCall(origin: string | undefined, request: IncomingMessage): boolean {
    if (origin === undefined || corsAllows(this.#options.cors, origin)) return true
    const host = request.headers.host
    return origin === `http://${host}` || origin === `https://${host}`
  }

  #request(request: IncomingMessage, response: ServerResponse) {
    const started = performance.now()
    request.on('error', () => undefined)
    response.on('error', () => undefined)
    const origin = single(request.headers.origin)
    if (request.method === 'OPTIONS' || request.headers['access-control-request-method'] !== undefined) {
      const headers = this.#corsHeaders(origin)
      if (headers['Access-Control-Allow-Origin'] !== undefined)
        Object.assign(headers, {
          'Access-Control-Allow-Headers': PREFLIGHT_HEADERS,
          'Access-Control-Allow-Methods': 'POST, GET',
          'Access-Control-Max-Age': '86400',
        })
      return send(response, 200, headers, '')
    }
    if (!this.#mayCall(origin, request))
      return fail(
        response,
        started,
        new EddyError('NotAllowedException', `origin ${origin?.slice(0, 200)} is not allowed (cors)`),
      )
    this.#track(request.socket)
    if (request.method === 'POST') return this.#readBody(request, response, started)
    const query = (request.url ?? '').split('?', 2)[1] ?? ''
    const params = new URLSearchParams(query)
    if (request.method === 'GET' && params.has('message') && !isEventSource(request)) {
      if (this.#options.cors !== true && this.#options.cors !== '*') {
        const why =
          'JSON-P (GET with message=) is off while cors names origins: a script request carries no Origin to check; use a WebSocket or POST'
        return fail(response, started, new EddyError('NotAllowedException', why))
      }
      return this.#serve(request, response, params, started)
    }
    // The client script, EventSource streams and the adapter's own 400s: no body is read.
    this.#adapter.handle(request, response)
  }

  #readBody(request: IncomingMessage, response: ServerResponse, started: number) {
    const limit = this.#options.bodyLimit
    const tooLarge = () => {
      // What follows is read and dropped (dropRest says why).
      dropRest(request, response)
      send(response, 413, {}, httpErrorBody(413, `Request body is too large (over ${limit} bytes)`, started))
    }
    const busy = () => {
      dropRest(request, response)
      fail(response, started, uploadBudgetError(this.#options.uploads.limit))
    }
    if (Number(request.headers['content-length']) > limit) return tooLarge()
    const meter = this.#options.uploads.open(request, response)
    if (meter === null) return busy()
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    request.on('data', (chunk: Buffer) => {
      if (over) return // read and dropped until the connection closes
      size += chunk.length
      if (size > limit) {
        over = true
        chunks.length = 0
        return tooLarge()
      }
      // A declared length was taken whole up front; a chunked body takes each chunk.
      if (!meter.declared && !meter.take(chunk.length)) {
        over = true
        chunks.length = 0
        return busy()
      }
      chunks.push(chunk)
    })
    request.on('end', () => {
      if (over) return
      const body = Buffer.concat(chunks).toString('utf8')
      const type = (single(request.headers['content-type']) ?? '').split(';')[0].trim()
      const params =
        type === 'application/json' ? new URLSearchParams({ message: body }) : new URLSearchParams(body)
      this.#guard(response, () => this.#serve(request, response, params, started))
    })
  }

  #serve(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, started: number) {
    const text = params.get('message')
    if (text === null)
      return fail(response, started, inputError('the request must carry a Bayeux message', null, 'message'))
    const jsonp = params.get('jsonp') ?? 'jsonpcallback'
    if (!JSONP_CALLBACK.test(jsonp))
      return fail(
        response,
        started,
        inputError('jsonp must be a JavaScript name', jsonp.slice(0, 100), 'jsonp'),
      )
    let messages: BayeuxInput[]
    try {
      messages = parseMessages(text)
    } catch (error) {
      return fail(response, started, error)
    }
    const isGet = request.method === 'GET'
    const headers: Record<string, string> = {
      'Content-Type': isGet ? 'text/javascript; charset=utf-8' : 'application/json; charset=utf-8',
      'Cache-Control': 'no-cache, no-store',
      'X-Content-Type-Options': 'nosniff',
      ...this.#corsHeaders(single(request.headers.origin)),
    }
    this.#adapter._server.process(messages, request, (replies) => {
      let body = JSON.stringify(replies)
      if (isGet) {
        body = `/**/${jsonp}(${body.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')});`
        headers['Content-Disposition'] = 'attachment; filename=f.txt'
      }
      send(response, 200, headers, body)
    })
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    if (!this.#WebSocket.isWebSocket(request)) return refuse(socket, 400, 'Bad Request')
    if (!this.#mayCall(single(request.headers.origin), request)) return refuse(socket, 403, 'Forbidden')
    this.#track(socket)
    const server = this.#adapter._server
    let ws: FayeWebSocket | null = new this.#WebSocket(request, socket, head, [], {
      maxLength: this.#options.bodyLimit,
    })
    let clientId: string | undefined
    ws.onmessage = (event) => {
      let messages: BayeuxInput[]
      try {
        messages = parseMessages(String(event.data))
      } catch (error) {
        ws?.close(1008, error instanceof Error ? error.message.slice(0, 120) : 'bad message')
        return
      }
      const connect = messages.find((m) => m.channel === '/meta/connect')?.clientId
      const cid = typeof connect === 'string' ? connect : undefined
      try {
        if (clientId && cid && cid !== clientId) server.closeSocket(clientId, false)
        if (cid) {
          server.openSocket(cid, ws, request)
          clientId = cid
        }
        server.process(messages, request, (replies) => void ws?.send(JSON.stringify(replies)))
      } catch {
        ws?.close(1011, 'internal error')
      }
    }
    ws.onclose = () => {
      if (clientId) server.closeSocket(clientId)
      ws = null
    }
  }
}
