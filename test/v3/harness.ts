/**
 * A V3 test server: `eddy serve`'s app on a store, with the official node-sdk and feeds-client
 * pointed at it. `v3Stores()` is the list the V3 flows loop over: every store (memory, SQLite,
 * PostgreSQL, PostgreSQL + Redis), so a V3 feature tested here is tested on each of them.
 */
import { StreamClient } from '@stream-io/node-sdk'
import { WebSocket } from 'ws'
import { type ConnectOptions, connect, type EddyClient } from '../../src/client/client.js'
import { RedisFeedTransport } from '../../src/realtime/redis-transport.js'
import { createServer, type ServerOptions } from '../../src/server/index.js'
import { everyStore, type StoreKind } from '../fixtures/every-store.js'
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

/**
 * Every store for the V3 flows of one test file (`label` names its scratch PostgreSQL schemas and
 * Redis prefixes, dropped when the file ends); PostgreSQL and Redis carry a skip reason when their
 * servers are not reachable.
 */
export async function v3Stores(label: string): Promise<StoreKind[]> {
  return (await everyStore(label)).stores
}

/** A store to serve: a `v3Stores()` entry, or a STORES entry (memory, SQLite). */
export type V3Store = { options: () => ConnectOptions } | { spec: () => string }

/**
 * Starts a server on `store`. With Redis timelines it also carries realtime on the Redis
 * transport, as `eddy serve --timelines` does, so events cross servers sharing that Redis.
 * `options` are more `createServer()` options (limits under test).
 */
export async function startV3(
  store: V3Store,
  options: Omit<ServerOptions, 'apiKey' | 'apiSecret' | 'client'> = {},
): Promise<V3Server> {
  const connectOptions = 'options' in store ? store.options() : undefined
  const eddy = connectOptions ? connect(connectOptions) : open(store as { spec: () => string })
  const transport = connectOptions?.timelines
    ? await RedisFeedTransport.open({ redis: connectOptions.timelines, refreshMs: 100 })
    : undefined
  transport?.attach(eddy.engine.events)
  const app = createServer({ ...options, apiKey: KEY, apiSecret: SECRET, client: eddy })
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
      await transport?.close()
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
