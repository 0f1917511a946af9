/**
 * How a batch of timeline script calls reaches Redis: all at once; with `wait`, in pipelines that
 * end in WAIT (one per master on a cluster) so a write counts only once replicas have it; on a
 * cluster in the middle of a failover, tried again until the slots settle (the scripts are
 * idempotent, so running one twice is safe).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreError } from '../errors.js'
import type { RedisClient, RedisPipeline } from './driver.js'
import { slotOf } from './keys.js'

/** One script call: its keys (all in one hash-tag bucket on a cluster) and arguments. */
export interface ScriptCall {
  script: 'eddyApply' | 'eddyFanout'
  keys: string[]
  args: (string | number)[]
}

/** Errors of a cluster in the middle of a failover or a resharding, worth waiting out. */
const TRANSIENT =
  /MOVED|ASK|CLUSTERDOWN|TRYAGAIN|LOADING|READONLY|Connection is closed|ECONNREFUSED|ECONNRESET|replicas acknowledged/
/** 40 attempts 200 ms apart: longer than a failover (3.5–4.7 s measured with cluster-node-timeout 2000). */
const FAILOVER_ATTEMPTS = 40
const FAILOVER_DELAY_MS = 200

/** Runs one script by name (a command defined on the client); errors become StoreErrors. */
export type RunScript = (name: string, keys: string[], args: (string | number)[]) => Promise<unknown>

/** Sends script calls with the replica acknowledgements the settings ask for. */
export class ScriptSender {
  readonly #client: RedisClient
  readonly #cluster: boolean
  readonly #settings: { wait: number; waitMs: number }
  readonly #run: RunScript

  constructor(
    client: RedisClient,
    cluster: boolean,
    settings: { wait: number; waitMs: number },
    run: RunScript,
  ) {
    this.#client = client
    this.#cluster = cluster
    this.#settings = settings
    this.#run = run
  }

  /** The calls' results, in call order. */
  send(calls: ScriptCall[]): Promise<unknown[]> {
    return this.#cluster ? this.#clusterSend(calls) : this.#single(calls)
  }

  #queue(pipe: RedisPipeline, call: ScriptCall): void {
    ;(pipe[call.script] as (...a: (string | number)[]) => RedisPipeline)(
      call.keys.length,
      ...call.keys,
      ...call.args,
    )
  }

  async #single(calls: ScriptCall[]): Promise<unknown[]> {
    if (this.#settings.wait === 0) {
      return Promise.all(calls.map((c) => this.#run(c.script, c.keys, c.args)))
    }
    const pipe = this.#client.pipeline()
    for (const call of calls) this.#queue(pipe, call)
    pipe.call('WAIT', this.#settings.wait, this.#settings.waitMs)
    return this.#settle(await pipe.exec(), calls.length)
  }

  async #clusterSend(calls: ScriptCall[]): Promise<unknown[]> {
    if (this.#settings.wait === 0) {
      return Promise.all(calls.map((c) => this.#run(c.script, c.keys, c.args)))
    }
    // WAIT counts the writes of its own connection: one pipeline per master, WAIT last. A
    // pipeline over several slots gets no redirection from ioredis, so a failover is waited out
    // here: the scripts are idempotent, so running them again is always safe.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pipelinesByNode(calls)
      } catch (error) {
        if (attempt >= FAILOVER_ATTEMPTS || !TRANSIENT.test((error as Error).message)) throw error
        this.#client.refreshSlotsCache?.()
        await sleep(FAILOVER_DELAY_MS)
      }
    }
  }

  /** The calls' results in call order, sent as one pipeline per master with WAIT last. */
  async #pipelinesByNode(calls: ScriptCall[]): Promise<unknown[]> {
    const byNode = new Map<string, number[]>()
    calls.forEach((call, i) => {
      const node = this.#client.slots?.[slotOf(call.keys[0])]?.[0] ?? '?'
      const list = byNode.get(node)
      if (list) list.push(i)
      else byNode.set(node, [i])
    })
    const results: unknown[] = new Array(calls.length)
    await Promise.all(
      [...byNode.values()].map(async (group) => {
        const pipe = this.#client.pipeline()
        for (const i of group) this.#queue(pipe, calls[i])
        pipe.call('WAIT', this.#settings.wait, this.#settings.waitMs)
        const settled = this.#settle(await pipe.exec(), group.length)
        group.forEach((i, k) => {
          results[i] = settled[k]
        })
      }),
    )
    return results
  }

  /** The script results of a pipeline; throws its first error, or when too few replicas acknowledged. */
  #settle(results: [Error | null, unknown][] | null, scripts: number): unknown[] {
    if (!results) throw new StoreError('unavailable', 'Redis dropped a pipeline (connection lost)')
    for (const [error] of results) if (error) throw error
    const acked = Number(results[scripts][1])
    if (acked < this.#settings.wait) {
      throw new StoreError(
        'unavailable',
        `only ${acked} of ${this.#settings.wait} Redis replicas acknowledged a timeline write within ${this.#settings.waitMs} ms; it will be retried`,
      )
    }
    return results.slice(0, scripts).map(([, value]) => value)
  }
}
