/**
 * The fan-out queue on BullMQ (`eddy/redis`): one queued job per fan-out chunk. Job ids are
 * natural, a hash of (fan-out job id, cursor), so queueing the same chunk twice queues it once;
 * a chunk that fails is retried with exponential backoff; a worker that dies holding a chunk loses
 * it after `lockMs` (BullMQ's stalled-job check) and another worker runs it again. The keys carry
 * one hash tag (`{eddy}:fanout:…`), so the queue works on a Redis Cluster (on one master).
 * Connections use the failover settings of driver.ts. bullmq and prom-client load on first use.
 *
 * Structural types, as for ioredis: the declarations must not name bullmq's or prom-client's.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { StoreError } from '../errors.js'
import type { FanoutJob } from '../store.js'
import {
  connectChecked,
  createClient,
  parseLocation,
  type RedisClient,
  type RedisLocation,
} from './driver.js'

interface BullJob {
  data: QueuedChunk
}

interface BullQueue {
  addBulk(jobs: { name: string; data: QueuedChunk; opts: Record<string, unknown> }[]): Promise<unknown>
  getJobCounts(...states: string[]): Promise<Record<string, number>>
  on(event: string, listener: (...args: unknown[]) => void): unknown
  close(): Promise<void>
}

interface BullWorker {
  on(event: string, listener: (...args: unknown[]) => void): unknown
  close(): Promise<void>
}

interface BullModule {
  Queue: new (name: string, options: Record<string, unknown>) => BullQueue
  Worker: new (
    name: string,
    processor: (job: BullJob) => Promise<void>,
    options: Record<string, unknown>,
  ) => BullWorker
}

interface Metric {
  observe(value: number): void
  inc(labels?: Record<string, string>): void
  set(labels: Record<string, string>, value: number): void
}

interface PromModule {
  Registry: new () => { metrics(): Promise<string> }
  Gauge: new (config: Record<string, unknown>) => Metric
  Histogram: new (config: Record<string, unknown>) => Metric
  Counter: new (config: Record<string, unknown>) => Metric
}

/** What a queued chunk carries: the job as accepted (shapes included) and when it was first queued. */
interface QueuedChunk {
  job: FanoutJob
  acceptedAt: number
}

/** Settings of the fan-out queue. */
export interface QueueOptions {
  /** Key prefix, as for timelines (default `eddy`): the queue's keys are `{eddy}:fanout:…`. */
  prefix?: string
  /** Attempts per chunk before BullMQ gives up on it (default 10; the sweep queues it again later). */
  attempts?: number
  /** First retry delay in ms, doubled each attempt (default 500). */
  backoffMs?: number
  /**
   * Back-pressure: chunks waiting in the queue above which writes that fan out are refused
   * (nothing stored, a 503 to retry) and sweeps queue nothing, until workers catch up. Default
   * 10,000 (20 million follower deliveries at 2,000 a chunk); `0` never refuses. Location query
   * `?maxQueued=`.
   */
  maxQueued?: number
}

/** Chunks waiting in the queue, against the back-pressure limit. */
export interface QueueBacklog {
  queued: number
  limit: number
}

const QUEUE = 'fanout'
/** How long a write waits for its jobs to be queued; after that the sweep queues them. */
const ENQUEUE_TIMEOUT_MS = 5_000
/** Default back-pressure limit, in waiting chunks. */
const MAX_QUEUED = 10_000
/** How old the known queue depth may be before a check asks Redis again (in the background). */
const DEPTH_TTL_MS = 250
/** States of chunks no worker holds yet: what back-pressure counts. */
const WAITING_STATES = ['waiting', 'prioritized', 'delayed'] as const

const load = <T>(name: string): T => {
  try {
    const loaded = createRequire(import.meta.url)(name) as T & { default?: T }
    return loaded
  } catch (error) {
    throw new StoreError(
      'config',
      `the fan-out queue needs the \`${name}\` package: run \`npm install ${name}\``,
      {
        field: 'queue',
        cause: error,
      },
    )
  }
}

/** The natural id of a chunk: the same job at the same cursor is the same queued job. */
export function chunkId(job: FanoutJob): string {
  return createHash('sha1')
    .update(`${job.id}\u0000${job.cursor ?? ''}`)
    .digest('hex')
    .slice(0, 32)
}

/** A fan-out queue on BullMQ; implements the engine's `FanoutQueue`. */
export class BullFanoutQueue {
  /** Where the queue is, as messages show it. */
  readonly location: string
  readonly #where: RedisLocation
  readonly #prefix: string
  readonly #jobOptions: Record<string, unknown>
  readonly #bull: BullModule
  readonly #producer: RedisClient
  readonly #ready: Promise<void>
  readonly #queue: Promise<BullQueue>
  readonly #workerClients: RedisClient[] = []
  readonly #metrics: ReturnType<typeof makeMetrics> | undefined
  readonly #maxQueued: number
  /**
   * The last depth Redis reported plus what this process queued since, when it was asked, and
   * how many chunks this process had queued by then (`added` counts them all).
   */
  #depth = { queued: 0, at: 0, asking: false, added: 0 }
  #closed = false

  /** Opens connections in the background; `ready()` says whether they work. */
  constructor(url: string, options: QueueOptions = {}) {
    this.#where = parseLocation(url, 'queue')
    this.location = this.#where.shown
    this.#prefix = `{${options.prefix ?? this.#where.params.get('prefix') ?? 'eddy'}}`
    this.#maxQueued = maxQueuedOf(options.maxQueued, this.#where.params)
    this.#bull = load<BullModule>('bullmq')
    this.#jobOptions = {
      attempts: options.attempts ?? 10,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 500 },
      // The store's job rows are the record; finished and failed chunks need not stay.
      removeOnComplete: true,
      removeOnFail: true,
    }
    this.#producer = createClient(this.#where, 'timelines')
    this.#ready = connectChecked(this.#producer, this.#where, 'the fan-out queue')
    this.#ready.catch(() => undefined)
    this.#queue = this.#ready.then(() => {
      const queue = new this.#bull.Queue(QUEUE, { connection: this.#producer, prefix: this.#prefix })
      // Without a listener BullMQ prints every reconnection error's stack; the connection's
      // outage is logged once by the driver (outage.ts).
      queue.on('error', () => undefined)
      return queue
    })
    this.#queue.catch(() => undefined)
    let prom: PromModule | undefined
    try {
      prom = createRequire(import.meta.url)('prom-client') as PromModule
    } catch {
      // Metrics are optional: metrics() says what to install.
    }
    this.#metrics = prom ? makeMetrics(prom, () => this.#counts()) : undefined
  }

  /** Resolves once the queue's Redis answers; rejects with a StoreError naming it otherwise. */
  async ready(): Promise<void> {
    await this.#ready
  }

  /**
   * The backlog when it is at or over the limit (writes that fan out should then be refused),
   * else undefined. Answers from the depth last read, at most ~250 ms old plus this process's own
   * additions since, and asks Redis again in the background when it is older.
   */
  backlog(): QueueBacklog | undefined {
    if (this.#maxQueued === 0 || this.#closed) return undefined
    if (performance.now() - this.#depth.at > DEPTH_TTL_MS) this.#refreshDepth()
    if (this.#depth.queued < this.#maxQueued) return undefined
    this.#metrics?.refusedWrites.inc()
    return { queued: this.#depth.queued, limit: this.#maxQueued }
  }

  async enqueue(jobs: FanoutJob[], acceptedAt = Date.now()): Promise<void> {
    if (jobs.length === 0 || this.#closed) return
    let timer: NodeJS.Timeout | undefined
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ENQUEUE_TIMEOUT_MS)
    })
    try {
      await Promise.race([this.#add(jobs, acceptedAt), giveUp])
    } catch {
      // Not queued: the job rows are committed and leased, and a worker's sweep queues them
      // once the lease ends.
      this.#metrics?.enqueueFailures.inc()
    } finally {
      clearTimeout(timer)
    }
  }

  async consume(
    handle: (job: FanoutJob) => Promise<FanoutJob | null>,
    options: { concurrency: number; signal: AbortSignal; lockMs: number },
  ): Promise<void> {
    await this.#ready
    if (options.signal.aborted) return
    // A worker blocks on its connection: it needs one of its own, retrying forever (BullMQ's rule).
    const connection = createClient(this.#where, 'queue')
    this.#workerClients.push(connection)
    await connectChecked(connection, this.#where, 'the fan-out queue')
    const metrics = this.#metrics
    const worker = new this.#bull.Worker(
      QUEUE,
      async ({ data }) => {
        const started = performance.now()
        const next = await handle(data.job)
        metrics?.chunkSeconds.observe((performance.now() - started) / 1000)
        // Queued before this chunk completes: a crash in between reruns this chunk, which then
        // runs the next one from the stored cursor.
        if (next) await this.#add([next], data.acceptedAt)
        else metrics?.lagSeconds.observe((Date.now() - data.acceptedAt) / 1000)
      },
      {
        connection,
        prefix: this.#prefix,
        concurrency: options.concurrency,
        lockDuration: options.lockMs,
        stalledInterval: options.lockMs,
        // A stalled chunk is only ever run again (the job row is the truth), never given up.
        maxStalledCount: 1_000_000,
      },
    )
    worker.on('error', () => undefined)
    worker.on('failed', () => metrics?.failedChunks.inc())
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve()
      else options.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    await worker.close()
  }

  async metrics(): Promise<string> {
    if (!this.#metrics) {
      throw new StoreError(
        'config',
        'fan-out metrics need the `prom-client` package: run `npm install prom-client`',
        {
          field: 'metrics',
        },
      )
    }
    return this.#metrics.registry.metrics()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const queue = await this.#queue.catch(() => undefined)
    await queue?.close().catch(() => undefined)
    for (const client of [this.#producer, ...this.#workerClients]) {
      await client.quit().catch(() => client.disconnect())
    }
  }

  async #add(jobs: FanoutJob[], acceptedAt: number): Promise<void> {
    const queue = await this.#queue
    await queue.addBulk(
      jobs.map((job) => ({
        name: 'chunk',
        data: { job, acceptedAt },
        // A job's first chunk goes before the later chunks of big fan-outs (BullMQ runs jobs
        // without a priority first), so a new activity to 200 followers does not wait behind the
        // 49 remaining chunks of one to 100,000; with active-first walks those first chunks are
        // also the recently active followers'. Later chunks keep their order among themselves.
        opts: { ...this.#jobOptions, jobId: chunkId(job), ...(job.cursor === null ? {} : { priority: 1 }) },
      })),
    )
    this.#depth.queued += jobs.length
    this.#depth.added += jobs.length
  }

  #refreshDepth(): void {
    if (this.#depth.asking) return
    this.#depth.asking = true
    const asked = performance.now()
    const addedBefore = this.#depth.added
    this.#queue
      .then((queue) => queue.getJobCounts(...WAITING_STATES))
      .then((counts) => {
        // Chunks queued here while the count was on its way may be missing from it: add them
        // (counting one twice only refuses a little early).
        const since = this.#depth.added - addedBefore
        this.#depth.queued = WAITING_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), since)
        this.#depth.at = asked
      })
      // Unknown depth: keep the last one; the next check asks again.
      .catch(() => undefined)
      .finally(() => {
        this.#depth.asking = false
      })
  }

  async #counts(): Promise<Record<string, number>> {
    const queue = await this.#queue
    return queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed')
  }
}

function maxQueuedOf(given: number | undefined, params: URLSearchParams): number {
  const raw = given ?? (params.has('maxQueued') ? Number(params.get('maxQueued')) : MAX_QUEUED)
  if (!Number.isSafeInteger(raw) || raw < 0 || raw > 1_000_000_000) {
    throw new StoreError(
      'config',
      `queue maxQueued must be a whole number of chunks from 0 (no limit) to 1000000000, got ${params.get('maxQueued') ?? raw}`,
      { field: 'queue' },
    )
  }
  return raw
}

function makeMetrics(prom: PromModule, counts: () => Promise<Record<string, number>>) {
  const registry = new prom.Registry()
  const registers = [registry]
  const depth = new prom.Gauge({
    name: 'eddy_fanout_queue_jobs',
    help: 'Fan-out chunks in the queue, by state',
    labelNames: ['state'],
    registers,
    async collect() {
      for (const [state, n] of Object.entries(await counts().catch(() => ({})))) depth.set({ state }, n)
    },
  })
  return {
    registry,
    chunkSeconds: new prom.Histogram({
      name: 'eddy_fanout_chunk_seconds',
      help: 'Time to deliver one fan-out chunk (PostgreSQL and Redis), in this process',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    lagSeconds: new prom.Histogram({
      name: 'eddy_fanout_delivery_lag_seconds',
      help: 'From a fan-out job being queued to its last chunk delivered',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    failedChunks: new prom.Counter({
      name: 'eddy_fanout_chunk_failures_total',
      help: 'Chunk attempts that failed (each is retried with backoff)',
      registers,
    }),
    refusedWrites: new prom.Counter({
      name: 'eddy_fanout_refused_writes_total',
      help: 'Writes refused because the queue held more waiting chunks than maxQueued (back-pressure)',
      registers,
    }),
    enqueueFailures: new prom.Counter({
      name: 'eddy_fanout_enqueue_failures_total',
      help: 'Writes whose jobs could not be queued in time (a worker sweep queues them after the lease)',
      registers,
    }),
  }
}
