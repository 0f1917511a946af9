/**
 * No error from a connection Eddy created can crash the host process, during or after close():
 * a child process opens a client (PostgreSQL; PostgreSQL + Redis timelines, BullMQ queue and the
 * Redis realtime transport), and while its event loop is held the test cuts every connection it
 * made (pg_terminate_backend; CLIENT KILL on a Redis of the test's own); the child then closes
 * at once, so the errors arrive during and after close(). It must exit 0 having printed CLOSED.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { clusterUnavailable } from '../fixtures/cluster.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from '../fixtures/postgres-store.js'
import { PrivateRedis } from '../fixtures/redis.js'
import { must } from '../helpers.js'

const CHILD = new URL('../fixtures/late-error-child.ts', import.meta.url).pathname
const skipPg = await postgresUnavailable()
// The Redis case runs a redis-server of its own: CLIENT KILL on the shared one would cut others' tests.
const skipRedis = skipPg ?? (await clusterUnavailable())

/** Starts the child; resolves once it printed IDLE, with its exit and everything it printed. */
async function startChild(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  )
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  let stderr = ''
  must(child.stderr, 'the child stderr').on('data', (chunk) => {
    stderr += chunk
  })
  const lines: string[] = []
  const reader = createInterface({ input: must(child.stdout, 'the child stdout') })
  const idle = new Promise<void>((resolve, reject) => {
    reader.on('line', (line) => {
      lines.push(line)
      if (line === 'IDLE') resolve()
    })
    void exited.then(([code]) => reject(new Error(`the child exited (${code}) before IDLE: ${stderr}`)))
  })
  await idle
  return { exited, lines, stderr: () => stderr }
}

describe('late connection errors do not crash the host', { skip: skipPg }, () => {
  const schemas = new ScratchSchemas('late')
  const dir = mkdtempSync(join(tmpdir(), 'eddy-late-'))
  let redisServer: PrivateRedis | undefined
  let redisUrl = ''

  before(async () => {
    if (skipRedis) return
    redisServer = await PrivateRedis.create()
    await redisServer.start()
    redisUrl = redisServer.url
  })

  after(async () => {
    await redisServer?.kill()
    rmSync(dir, { recursive: true, force: true })
    await schemas.drop()
  })

  async function cut(args: string[], kill: (app: string) => Promise<void>): Promise<void> {
    const app = `eddy_late_${randomBytes(4).toString('hex')}`
    const flag = join(dir, app)
    const child = await startChild([args[0], flag, ...args.slice(1)], { PGAPPNAME: app })
    try {
      await kill(app)
    } finally {
      writeFileSync(flag, '') // the child goes on (and ends) whatever happened here
    }
    const [code, signal] = await child.exited
    assert.equal(code, 0, `the child exited ${code ?? signal}: ${child.stderr()}`)
    assert.ok(child.lines.includes('CLOSED'))
    // ioredis and BullMQ print an 'error' event nobody listens to instead of throwing it.
    assert.doesNotMatch(child.stderr(), /Unhandled error|Error/, 'nothing reported unhandled')
  }

  /** Terminates the child's PostgreSQL backends and waits until they are gone. */
  async function terminate(app: string): Promise<void> {
    const [{ n }] = await schemas.rows<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [app],
    )
    assert.ok(n >= 1, `the child had ${n} connections to cut`)
    for (let i = 0; i < 500; i++) {
      const [{ left }] = await schemas.rows<{ left: number }>(
        'SELECT count(*)::int AS left FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
      if (left === 0) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.fail('the backends did not go')
  }

  it('PostgreSQL: backends terminated under a client that then closes', async () => {
    const url = `${PG_URL}?schema=${schemas.name()}`
    await cut([url], terminate)
  })

  it('PostgreSQL + Redis timelines, queue and realtime: every connection cut under a client that then closes', {
    skip: skipRedis,
  }, async () => {
    const url = `${PG_URL}?schema=${schemas.name()}`
    await cut([url, `${redisUrl}?prefix=late`], async (app) => {
      await terminate(app)
      const admin = new Redis(redisUrl)
      try {
        const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'))
        const pubsub = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))
        assert.ok(killed >= 2 && pubsub >= 1, `cut ${killed} connections and ${pubsub} subscribers`)
      } finally {
        admin.disconnect()
      }
    })
  })
})
