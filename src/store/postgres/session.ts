/**
 * How the PostgreSQL store talks to its pool: named statements (parsed and planned once per
 * connection), one-statement calls and transactions at READ COMMITTED, retried a few times on
 * serialization failures and deadlocks, and errors that say which server failed and how.
 */
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { outageOf, plainReason } from '../outage.js'
import type { PgPool, PgPoolClient, PgQuery } from './driver.js'
import { codeOf, isConnectionLoss, lostError, type PostgresTarget, postgresError, where } from './errors.js'

/** A statement with its prepared-statement name. */
export interface Sql {
  readonly name: string
  readonly text: string
}

const names = new Map<string, string>()

/**
 * A named statement for `text`. The name is a hash of the text, so two stores with different
 * schemas on one pool (hence different texts) never share a name.
 */
export function sql(text: string): Sql {
  let name = names.get(text)
  if (name === undefined) {
    name = `eddy_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`
    names.set(text, name)
  }
  return { name, text }
}

/** A statement with its values, to be sent as part of a batch. */
export interface Step {
  readonly statement: Sql
  readonly values: unknown[]
}

/** Runs statements on one connection (inside a transaction or not). */
export interface Runner {
  /** Rows of `statement` with `values`. */
  rows<R>(statement: Sql, values?: unknown[]): Promise<R[]>
  /** How many rows `statement` changed. */
  run(statement: Sql, values?: unknown[]): Promise<number>
  /**
   * Inside a transaction, its last act: runs `steps` in order and COMMITs, in one round trip on
   * a pipelining connection; resolves with each step's rows once the commit is durable (as the
   * transaction's options say). A failing step makes the COMMIT a rollback and rejects. After
   * it, the runner refuses statements: nothing may depend on these results but the return value.
   * `after` runs once the COMMIT is done, in a transaction of its own, in the same round trip;
   * its rows come last, or undefined if it failed (the transaction stays committed).
   */
  finish(steps: Step[], after?: Step): Promise<(unknown[] | undefined)[]>
}

/** What the pool wrapper needs to know. */
export interface SessionOptions {
  /** Whether `close()` ends the pool (Eddy made it) or leaves it to its owner. */
  ownsPool: boolean
  /**
   * Called with each statement's text before it is sent (diagnostics, query counts in tests);
   * `roundTrip` is true when the statement starts a round trip (no answer is awaited before
   * it on its connection), false when it goes out with statements still unanswered.
   */
  onQuery?: (text: string, roundTrip: boolean) => void
}

// 40001 serialization_failure, 40P01 deadlock_detected: the server rolled the transaction back
// and running it again is the documented remedy.
const RETRIED = new Set(['40001', '40P01'])
const ATTEMPTS = 5
const BEGIN = { text: 'BEGIN' }
// One round trip: a simple query may hold several statements (no parameters).
const BEGIN_ASYNC_COMMIT = { text: 'BEGIN; SET LOCAL synchronous_commit TO OFF' }
const COMMIT = { text: 'COMMIT' }
const FINISHED = 'a statement after Runner.finish (the transaction is committed)'
const ROLLBACK = { text: 'ROLLBACK' }

/** The store's pool, with its closed state and its error handling. */
export class Session {
  readonly target: PostgresTarget
  readonly #pool: PgPool
  readonly #options: SessionOptions
  readonly #onIdleError = () => {
    // An idle connection the server closed: the pool drops it and opens another when needed.
  }
  #closed = false
  /** One log line when the server stops answering and one when it is back (outage.ts). */
  readonly #outage: ReturnType<typeof outageOf>
  #worked = false
  /** Statements sent and not yet answered, per connection (for `onQuery`'s round trips). */
  readonly #unanswered = new WeakMap<PgPoolClient, number>()

  constructor(pool: PgPool, target: PostgresTarget, options: SessionOptions) {
    this.#pool = pool
    this.target = target
    this.#options = options
    this.#outage = outageOf(
      where(target),
      `check that PostgreSQL is running and reachable at ${target.host}:${target.port}; calls fail with 503 meanwhile`,
    )
    // Without a listener, a connection dropped while idle would crash the process.
    pool.on('error', this.#onIdleError)
  }

  /** Throws when the store is closed. */
  check(): void {
    if (this.#closed) {
      throw postgresError(
        'closed',
        `the store on ${where(this.target)} is closed (close() was called on it or on its client); open a new one, e.g. connect() again`,
      )
    }
  }

  /** Runs `work` on one connection without a transaction (for single statements). */
  once<T>(call: string, work: (runner: Runner) => Promise<T>): Promise<T> {
    return this.#attempt(call, undefined, work)
  }

  /**
   * Runs `work` in one READ COMMITTED transaction, retried on serialization failure or deadlock.
   * With `asyncCommit`, COMMIT does not wait for the WAL flush: only for work that a crash may
   * undo because it runs again until it sticks (fan-out chunks: the cursor and the entries go
   * back together, and rewriting them is idempotent), never for what a caller is told is stored.
   */
  transaction<T>(
    call: string,
    work: (runner: Runner) => Promise<T>,
    options?: { asyncCommit?: boolean },
  ): Promise<T> {
    return this.#attempt(call, options?.asyncCommit ? BEGIN_ASYNC_COMMIT : BEGIN, work)
  }

  /** Marks the store closed and ends the pool if the store opened it. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#outage.forget(this)
    if (!this.#options.ownsPool) {
      this.#pool.removeListener('error', this.#onIdleError) // a pool passed in is its owner's again
      return
    }
    // The listener stays: pool.end() resolves before its connections have closed, and a backend
    // terminated meanwhile (restart, failover, pg_terminate_backend, DROP DATABASE) still
    // reports through the pool; with no listener that 'error' event would end the process.
    await this.#pool.end()
  }

  async #attempt<T>(
    call: string,
    begin: { text: string } | undefined,
    work: (runner: Runner) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#run(call, begin, work)
      } catch (error) {
        if (!RETRIED.has(codeOf(error) ?? '') || attempt >= ATTEMPTS) throw error
        // Spread the retries of the transactions that collided so they do not collide again.
        await sleep(Math.random() * 2 ** attempt)
      }
    }
  }

  /** Runs `work` on a pooled connection, inside a transaction opened by `begin` when given. */
  async #run<T>(
    call: string,
    begin: { text: string } | undefined,
    work: (runner: Runner) => Promise<T>,
  ): Promise<T> {
    const transaction = begin !== undefined
    this.check()
    const client = await this.#connect(call)
    let broken: Error | undefined
    // A connection that breaks while checked out emits 'error' besides failing its query; an
    // unhandled 'error' event would crash the process.
    const onError = (error: Error) => {
      broken ??= error
    }
    client.on('error', onError)
    // pg >= 8.23 with `pipeline: true` sends queries without waiting for the answers before
    // them; the server still runs them one after the other, each from its own snapshot.
    const pipelined = (client as { pipeline?: boolean }).pipeline === true
    const state = { committing: false, finished: false }
    try {
      const runner = this.#runner(client, pipelined, transaction, state)
      if (!transaction) return await work(runner)
      if (pipelined) {
        // BEGIN goes with the transaction's first statement; if it failed, so would that one.
        this.#send(client, begin).catch(() => undefined)
      } else await this.#send(client, begin)
      const result = await work(runner)
      if (state.finished) return result
      state.committing = true
      await this.#send(client, COMMIT)
      return result
    } catch (error) {
      if (broken !== undefined || isConnectionLoss(error)) {
        broken ??= error as Error
        this.#outage.down(this, broken)
        throw lostError(this.target, call, error, state.committing)
      }
      if (transaction && !state.committing) {
        await this.#send(client, ROLLBACK).catch((rollbackError: Error) => {
          broken = rollbackError
        })
      }
      throw error
    } finally {
      client.removeListener('error', onError)
      // With an error the pool destroys the connection instead of handing it out again.
      client.release(broken ?? false)
    }
  }

  async #connect(call: string): Promise<PgPoolClient> {
    try {
      const client = await this.#pool.connect()
      this.#worked = true
      this.#outage.up(this)
      return client
    } catch (error) {
      if (this.#closed) this.check()
      // Before the first connection the opener's error says it all (connect(), eddy serve).
      if (this.#worked) this.#outage.down(this, error)
      throw postgresError(
        'unreachable',
        `cannot get a connection to ${where(this.target)} for ${call}: ${plainReason(error)}; check that PostgreSQL is running and reachable at ${this.target.host}:${this.target.port} (Eddy reconnects by itself)`,
        error,
      )
    }
  }

  #runner(
    client: PgPoolClient,
    pipelined: boolean,
    transaction: boolean,
    state: { committing: boolean; finished: boolean },
  ): Runner {
    const send = <R>(statement: Sql, values?: unknown[]) => {
      if (state.finished) return Promise.reject(new Error(FINISHED))
      return this.#send<R>(client, { name: statement.name, text: statement.text, values })
    }
    return {
      rows: async <R>(statement: Sql, values?: unknown[]) => (await send<R>(statement, values)).rows,
      run: async (statement: Sql, values?: unknown[]) => (await send(statement, values)).rowCount ?? 0,
      finish: async (steps: Step[], after?: Step) => {
        if (!transaction) throw new Error('Runner.finish outside a transaction')
        if (state.finished) throw new Error(FINISHED)
        const next = (step: Step) =>
          this.#send(client, { name: step.statement.name, text: step.statement.text, values: step.values })
        // `after` may fail without undoing what committed before it.
        const then = (sent: Promise<{ rows: unknown[] }>) =>
          sent.then(
            (result) => result.rows,
            () => undefined,
          )
        if (!pipelined) {
          const rows: (unknown[] | undefined)[] = []
          for (const step of steps) rows.push((await send(step.statement, step.values)).rows)
          state.committing = true
          state.finished = true
          await this.#send(client, COMMIT)
          if (after) rows.push(await then(next(after)))
          return rows
        }
        const sent = steps.map((step) => send(step.statement, step.values))
        state.committing = true
        state.finished = true
        const commit = this.#send(client, COMMIT)
        const afterRows = after ? then(next(after)) : undefined
        // Every promise is awaited below; settle them all first so none rejects unobserved.
        const settled = await Promise.allSettled([...sent, commit])
        for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason
        // A COMMIT after a failed statement answers ROLLBACK; the failure was thrown above.
        const done = settled[settled.length - 1] as PromiseFulfilledResult<{ command?: string }>
        if (done.value.command !== 'COMMIT') throw new Error(`COMMIT answered ${done.value.command}`)
        const rows: (unknown[] | undefined)[] = (
          settled.slice(0, -1) as PromiseFulfilledResult<{ rows: unknown[] }>[]
        ).map((r) => r.value.rows)
        if (afterRows) rows.push(await afterRows)
        return rows
      },
    }
  }

  #send<R>(client: PgPoolClient, query: PgQuery) {
    const onQuery = this.#options.onQuery
    if (!onQuery) return client.query<R>(query)
    // Counting round trips: a statement sent while others on its connection await their
    // answers shares their round trip (only a pipelining connection sends it before them).
    const pipelined = (client as { pipeline?: boolean }).pipeline === true
    const waiting = this.#unanswered.get(client) ?? 0
    onQuery(query.text, !pipelined || waiting === 0)
    this.#unanswered.set(client, waiting + 1)
    const answered = () => this.#unanswered.set(client, (this.#unanswered.get(client) ?? 1) - 1)
    const result = client.query<R>(query)
    result.then(answered, answered)
    return result
  }
}
