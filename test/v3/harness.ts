/** A V3 test server: `eddy serve`'s app on a store, with the official node-sdk and feeds-client pointed at it. */
import { StreamClient } from '@stream-io/node-sdk'
import { WebSocket } from 'ws'
import type { EddyClient } from '../../src/client/client.js'
import { createServer } from '../../src/server/index.js'
import { open } from '../helpers.js'

// The feeds-client needs a global WebSocket (Node 22 has one; Node 20 takes ws's, which it matches).
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

// connectUser races the connection against a 15 s sleep it never clears, which would hold each
// test process open 15 s after its last test: long timers in this process do not keep it alive.
const setTimer = globalThis.setTimeout
globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
  const timer = setTimer(fn, ms, ...(args as []))
  if ((ms ?? 0) >= 10_000) timer.unref()
  return timer
}) as typeof setTimeout

/** The key and secret of test servers. */
export const KEY = 'v3-key'
export const SECRET = 'v3-secret-v3-secret'

/** A running server with its SDK clients. */
export interface V3Server {
  base: string
  eddy: EddyClient
  server: StreamClient
  /** A connected feeds-client for `userId`. */
  connect(userId: string, name?: string): Promise<import('@stream-io/feeds-client').FeedsClient>
  close(): Promise<void>
}

/** Starts a server on `store` (a STORES entry). */
export async function startV3(store: { spec: () => string }): Promise<V3Server> {
  const eddy = open(store)
  const app = createServer({ apiKey: KEY, apiSecret: SECRET, client: eddy })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const server = new StreamClient(KEY, SECRET, { basePath: base, timeout: 5000 })
  const { FeedsClient } = await import('@stream-io/feeds-client')
  const clients: import('@stream-io/feeds-client').FeedsClient[] = []
  return {
    base,
    eddy,
    server,
    async connect(userId, name) {
      const client = new FeedsClient(KEY, { base_url: base, timeout: 5000 })
      clients.push(client)
      await client.connectUser({ id: userId, name }, server.generateUserToken({ user_id: userId }))
      return client
    },
    async close() {
      for (const c of clients) await c.disconnectUser().catch(() => undefined)
      await app.close()
      await eddy.close()
    },
  }
}

/** Resolves with the first `type` event `target` emits (rejects after `ms`). */
export function nextEvent<E = Record<string, unknown>>(
  target: { on(type: string, cb: (e: E) => void): () => void },
  type: string,
  ms = 5000,
): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no ${type} event within ${ms} ms`))
    }, ms)
    const off = target.on(type, (e) => {
      clearTimeout(timer)
      off()
      resolve(e)
    })
  })
}
