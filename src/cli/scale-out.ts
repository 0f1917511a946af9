/**
 * The scale-out parts of the `eddy` command (docs/scale-out.md): `serve --timelines/--queue/--workers`,
 * `worker --timelines` (a BullMQ consumer with a Prometheus endpoint) and `rebuild-timelines`.
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { type ConnectOptions, connect, type EddyClient } from '../client/client.js'
import { readActivity } from '../engine/activity.js'
import { shapeFor } from '../engine/fanout.js'
import type { FeedGroupOptions } from '../engine/feed-groups.js'

/** Where timelines and the queue are, and how many queue workers run in the server. */
export interface ScaleOutSettings {
  timelines?: string
  queue?: string
  /** Queue workers in this process; undefined: no queue (deliver in-process as without Redis). */
  workers?: number
}

/** Flags first, then `EDDY_TIMELINES` / `EDDY_QUEUE`, then the config file's `timelines` / `queue`. */
export function scaleOutSettings(
  flags: { timelines?: string; queue?: string; workers?: string },
  config: { timelines?: unknown; queue?: unknown },
  store: string,
  fail: (message: string) => never,
): ScaleOutSettings {
  const text = (value: unknown, name: string) => {
    if (value !== undefined && typeof value !== 'string') fail(`${name} must be a Redis location string`)
    return value as string | undefined
  }
  const timelines = flags.timelines ?? process.env.EDDY_TIMELINES ?? text(config.timelines, 'timelines')
  const queue = flags.queue ?? process.env.EDDY_QUEUE ?? text(config.queue, 'queue')
  let workers: number | undefined
  if (flags.workers !== undefined) {
    workers = Number(flags.workers)
    if (!Number.isInteger(workers) || workers < 0 || workers > 64)
      fail(`--workers must be 0 to 64, got ${flags.workers}`)
  } else if (queue !== undefined) workers = 0
  if ((timelines !== undefined || queue !== undefined) && !/^postgres(ql)?:\/\//.test(store))
    fail('--timelines and --queue need --store postgres://…: PostgreSQL keeps what Redis may lose')
  if (workers !== undefined && timelines === undefined && queue === undefined)
    fail('--workers needs a queue: give --timelines (the queue then shares its Redis) or --queue')
  return { timelines, queue, workers }
}

/** Whether the settings take the scale-out path at all. */
export function scalesOut(settings: ScaleOutSettings): boolean {
  return settings.timelines !== undefined || settings.queue !== undefined
}

/** A location as it may be printed: no user or password, no query. */
export function shownRedis(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '')
}

/** The client `serve` and `worker` share: PostgreSQL, Redis timelines, and the queue when used. */
export function scaleOutClient(
  store: string,
  settings: ScaleOutSettings,
  options: {
    feedGroups?: Record<string, FeedGroupOptions>
    auditLog?: boolean
    fanoutLeaseMs?: number
    uploads?: ConnectOptions['uploads']
  },
): EddyClient {
  const useQueue = settings.workers !== undefined || settings.queue !== undefined
  return connect({
    store,
    timelines: settings.timelines,
    queue: useQueue ? (settings.queue ?? true) : undefined,
    feedGroups: options.feedGroups,
    auditLog: options.auditLog,
    fanoutLeaseMs: options.fanoutLeaseMs,
    uploads: options.uploads,
  })
}

/** What closes a realtime transport (the CLI needs no more of it). */
export interface Closable {
  close(): Promise<void>
}

/**
 * Realtime across processes: the Redis pub/sub transport on the timelines' Redis (else the
 * queue's), attached to `client`'s event bus, so a subscriber on any server hears what any
 * server or worker delivers (docs/scale-out.md, Realtime). Rejects when that Redis does not answer.
 */
export async function openRealtime(
  client: EddyClient,
  settings: ScaleOutSettings,
): Promise<Closable | undefined> {
  const redis = settings.timelines ?? settings.queue
  if (redis === undefined) return undefined
  const { RedisFeedTransport } = await import('../realtime/redis-transport.js')
  return (await RedisFeedTransport.open({ redis })).attach(client.engine.events)
}

/**
 * Wires a scale-out client into the server: `/metrics` (Prometheus text) when a queue is used,
 * queue workers started once listening, and on close the workers stopped, the realtime transport
 * and the client closed.
 */
export function attachScaleOut(
  app: FastifyInstance,
  client: EddyClient,
  settings: ScaleOutSettings,
  realtime?: Closable,
) {
  const stop = new AbortController()
  let working: Promise<void> | undefined
  if (settings.workers !== undefined) {
    app.get('/metrics', async (_request, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8')
      return (await client.engine.metrics()) ?? ''
    })
  }
  app.addHook('onClose', async () => {
    stop.abort()
    await working
    await realtime?.close()
    await client.close()
  })
  return {
    /** Starts the in-process queue workers (after listen). */
    start(): void {
      if (settings.workers) working = client.engine.work(stop.signal, undefined, settings.workers)
    },
  }
}

/** Serves `/metrics` on 127.0.0.1:`port` for a worker process. */
export function metricsServer(client: EddyClient, port: number): Promise<Server> {
  const server = createHttpServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end()
      return
    }
    Promise.resolve(client.engine.metrics()).then(
      (text) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text ?? ''),
      (error: Error) => response.writeHead(500).end(error.message),
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

/**
 * Rebuilds Redis from PostgreSQL with a progress bar on stderr: every feed that has activities
 * of its own or follows others gets its newest entries again (see `rebuildTimelines`).
 */
export async function rebuild(
  store: string,
  timelines: string,
  feedGroups: Record<string, FeedGroupOptions> | undefined,
  fail: (message: string) => never,
): Promise<void> {
  const { openRedisStore, rebuildTimelines } = await import('../store/redis/index.js')
  // The engine of a plain client knows the feed groups: it computes each entry's shape.
  const groups = connect({ store: 'memory', feedGroups })
  let opened: Awaited<ReturnType<typeof openRedisStore>>
  try {
    opened = await openRedisStore({ store, timelines })
  } catch (error) {
    fail((error as Error).message)
  }
  const bar = progressBar('rebuilding timelines')
  try {
    const result = await rebuildTimelines(opened, {
      shape(slug, sk, body) {
        const group = groups.engine.groups.get(slug)
        return group ? shapeFor(group, sk, readActivity(body, null)) : undefined
      },
      onProgress: bar.update,
    })
    bar.done()
    process.stdout.write(
      `rebuilt ${result.feeds} feeds, ${result.entries} entries, in ${shownRedis(timelines)}\n`,
    )
  } finally {
    await opened.close()
    await groups.close()
  }
}

/** A one-line progress bar on stderr (redrawn in place on a terminal, every 10% otherwise). */
export function progressBar(label: string) {
  const tty = process.stderr.isTTY === true
  let shown = -1
  const draw = (done: number, total: number) => {
    const ratio = total === 0 ? 1 : done / total
    const percent = Math.floor(ratio * 100)
    if (!tty && Math.floor(percent / 10) === Math.floor(shown / 10)) return
    shown = percent
    const width = 30
    const filled = Math.round(ratio * width)
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${done}/${total} feeds`
    process.stderr.write(tty ? `\r${line}` : `${line}\n`)
  }
  return {
    update: draw,
    done: () => {
      if (tty) process.stderr.write('\n')
    },
  }
}
