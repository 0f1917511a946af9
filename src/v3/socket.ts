/**
 * The Feeds V3 WebSocket at `/api/v2/connect`, on `ws`: the client opens it with its `api_key`
 * (and `stream-auth-type`) in the query, sends `{ token, user_details, products }`, and gets
 * `connection.ok` with its connection id and `me` (the user is created or updated from
 * user_details), or `connection.error` (code 40 for an expired token, which the client refreshes)
 * and a close. Then it sends `health.check` every ~25 s and gets one back; events of the feeds it
 * watches (hub.ts) follow. Bounded: message size, the time to authenticate, messages per second,
 * connections per user, and connections per server (a full server drops the oldest socket that has
 * not authenticated yet, else refuses the upgrade).
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import { refuse } from '../server/faye-http.js'
import { v3ErrorResponse } from './errors.js'
import type { FullUserResponse, UserRequest } from './gen/spec.js'
import { authenticate } from './http.js'
import { ANONYMOUS, type Hub } from './hub.js'
import { fullUser, upsertUser } from './users.js'

/** The WebSocket's path. */
export const CONNECT_PATH = '/api/v2/connect'

/** Bounds of the V3 WebSocket. */
export interface SocketLimits {
  /** Largest message a client may send, in bytes. */
  maxPayload: number
  /** Time a client has to send its token, in ms. */
  authTimeoutMs: number
  /** Messages a client may send per 10 s window before it is disconnected. */
  messagesPer10s: number
  /** Open connections per user on this server. */
  connectionsPerUser: number
  /** Sockets this server holds at once, authenticated or not (the `realtime.connections` cap). */
  connections: number
}

/** Default bounds: health checks come every ~25 s; a client has nothing else to send. */
export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  maxPayload: 64 * 1024,
  authTimeoutMs: 10_000,
  messagesPer10s: 50,
  connectionsPerUser: 50,
  connections: 100_000,
}

/** Serves the V3 WebSocket on `server` (call before Faye attaches, which hands it other upgrades). */
export function attachSocket(
  server: Server,
  ctx: ServerContext,
  hub: Hub,
  limits = DEFAULT_SOCKET_LIMITS,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayload })
  const perUser = new Map<string, number>()
  // Every socket held, and those that have not authenticated yet (oldest first): a token-less
  // flood would otherwise hold every place until its sockets time out and lock users out.
  const held = new Set<WebSocket>()
  const unauthenticated = new Set<WebSocket>()
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (url.pathname !== CONNECT_PATH && url.pathname !== `${CONNECT_PATH}/`) {
      refuse(socket, 404, 'Not Found')
      return
    }
    if (held.size >= limits.connections) {
      const oldest = unauthenticated.values().next().value
      if (!oldest) {
        refuse(socket, 503, 'Service Unavailable')
        return
      }
      forget(oldest)
      oldest.close(1013, 'server full: authenticate sooner')
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      held.add(ws)
      unauthenticated.add(ws)
      serve(ws, url.searchParams)
    })
  })
  const forget = (ws: WebSocket) => {
    held.delete(ws)
    unauthenticated.delete(ws)
  }

  const serve = (ws: WebSocket, query: URLSearchParams) => {
    let connectionId: string | undefined
    let userId: string | undefined
    let window = Date.now()
    let count = 0
    const started = performance.now()
    const fail = (err: unknown) => {
      const { body } = v3ErrorResponse(err, started)
      ws.send(
        JSON.stringify({
          type: 'connection.error',
          connection_id: connectionId ?? '',
          created_at: new Date().toISOString(),
          error: body,
        }),
      )
      ws.close(1000, body.message.slice(0, 120))
    }
    const authTimer = setTimeout(() => ws.close(1008, 'no token sent'), limits.authTimeoutMs)
    let authenticating = false

    ws.on('message', (raw) => {
      const now = Date.now()
      if (now - window > 10_000) {
        window = now
        count = 0
      }
      if (++count > limits.messagesPer10s) {
        ws.close(1008, 'too many messages')
        return
      }
      let data: unknown
      try {
        data = JSON.parse(raw.toString())
      } catch {
        ws.close(1008, 'messages must be JSON')
        return
      }
      if (connectionId === undefined) {
        if (authenticating) return
        authenticating = true
        void connect(data).catch(fail)
        return
      }
      const messages = Array.isArray(data) ? data : [data]
      if (
        messages.some((m) => m && typeof m === 'object' && (m as { type?: unknown }).type === 'health.check')
      ) {
        // A user deactivated while connected is closed here too, should the hub's disconnect have missed it.
        if (userId !== undefined && userId !== ANONYMOUS)
          void ctx.engine.standing.requireActive(userId).catch(fail)
        ws.send(
          JSON.stringify({
            type: 'health.check',
            connection_id: connectionId,
            created_at: new Date().toISOString(),
            custom: {},
          }),
        )
      }
    })

    const connect = async (data: unknown) => {
      const msg = (data ?? {}) as { token?: unknown; user_details?: UserRequest }
      const caller = await authenticate(
        ctx,
        query.get('api_key') ?? undefined,
        query.get('stream-auth-type') ?? 'jwt',
        msg.token,
      )
      const details = msg.user_details
      let me: FullUserResponse
      if (caller.kind === 'user') {
        if (!details || details.id !== caller.userId) throw notAllowed()
        const count = perUser.get(caller.userId) ?? 0
        if (count >= limits.connectionsPerUser) throw notAllowed()
        userId = caller.userId
        perUser.set(userId, count + 1)
        const row = await upsertUser(ctx, details, 'user_details', true)
        const roles = await ctx.engine.v3.roles([row.id])
        me = fullUser(row.id, row, roles.get(row.id))
        // The user's own blocks (BlockUsers), which only it sees.
        me.blocked_user_ids = (await ctx.engine.standing.blocks(row.id)).map((b) => b.id)
      } else if (caller.kind === 'anonymous') {
        userId = ANONYMOUS
        me = fullUser(ANONYMOUS)
      } else throw notAllowed()
      if (ws.readyState !== ws.OPEN) return
      clearTimeout(authTimer)
      unauthenticated.delete(ws)
      connectionId = hub.open(userId, ws)
      ws.send(
        JSON.stringify({
          type: 'connection.ok',
          connection_id: connectionId,
          created_at: new Date().toISOString(),
          me,
        }),
      )
    }

    ws.on('close', () => {
      forget(ws)
      clearTimeout(authTimer)
      if (connectionId !== undefined) hub.close(connectionId)
      if (userId !== undefined && userId !== ANONYMOUS) {
        const left = (perUser.get(userId) ?? 1) - 1
        if (left <= 0) perUser.delete(userId)
        else perUser.set(userId, left)
      }
    })
    ws.on('error', () => undefined)
  }

  // Protocol pings find dead peers (the clients' own health checks are application messages).
  const pinger = setInterval(() => {
    for (const ws of wss.clients) ws.ping()
  }, 30_000)
  pinger.unref()
  return () => {
    clearInterval(pinger)
    for (const ws of wss.clients) ws.terminate()
    wss.close()
  }
}
