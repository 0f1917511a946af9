/**
 * Outages as `eddy serve` reports them (issue 19 item 7): a Redis of the test's own is killed and
 * restarted, and PostgreSQL is cut off and restored (through a TCP relay the test opens and
 * closes). The server log gets one line when each goes down (what to check) and one when it is
 * back, never a stack per reconnection attempt; the 503 says what to check, never a driver's
 * internals ("max retries per request limit", "Connection is closed").
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server, type Socket, connect as tcp } from 'node:net'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import stream from 'getstream'
import { PG, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { freePort, PrivateRedis } from './fixtures/redis.js'
import { must } from './helpers.js'

const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
const KEY = 'outage-key'
const SECRET = 'outage-secret'

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'])
    return true
  } catch {
    return false
  }
}

const skip = (await postgresUnavailable()) ?? (hasRedisServer() ? undefined : 'redis-server is not installed')

/** Polls `check` (no fixed sleep) until it holds. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting until ${what}`)
}

/** `eddy serve` with every stderr line kept; resolves once it printed its connect line. */
async function serve(args: string[]): Promise<{ child: ChildProcess; stderr: string[]; api: string }> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=eddy-source',
      '--import',
      'tsx',
      CLI,
      'serve',
      '--port',
      '0',
      '--api-key',
      KEY,
      '--api-secret',
      SECRET,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const stderr: string[] = []
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line))
  for await (const line of createInterface({ input: child.stdout })) {
    const api = /urlOverride: \{ api: '([^']+)' \}/.exec(line)?.[1]
    if (api) {
      child.stdout.resume()
      return { child, stderr, api }
    }
  }
  throw new Error(`eddy serve exited before it was ready: ${stderr.join('\n')}`)
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/** The 503 a call is answered with, as the official client reports it. */
async function detailOf(call: Promise<unknown>): Promise<string> {
  try {
    await call
  } catch (error) {
    const body = (error as { error?: { detail?: string; status_code?: number } }).error
    assert.equal(body?.status_code, 503, JSON.stringify(body))
    return must(body?.detail, 'an error detail')
  }
  throw new Error('the call succeeded during the outage')
}

/** What no outage line or error may show: a driver's internals or a stack. */
const INTERNALS = /max retries|maxRetriesPerRequest|Connection is closed|^\s+at |^Error|\{$/m

describe('outages in the server log', { skip }, () => {
  const schemas = new ScratchSchemas('outage')
  const children: ChildProcess[] = []
  const redises: PrivateRedis[] = []
  after(async () => {
    for (const redis of redises) await redis.kill()
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    await schemas.drop()
  })

  it('Redis: one line down, one line back, and a 503 that says what to check', async () => {
    const redis = await PrivateRedis.create()
    redises.push(redis)
    await redis.start()
    const url = redis.url
    const store = `${PG_URL}?schema=${schemas.name()}`
    // --workers 1: the BullMQ queue and worker connections too (they printed a stack per retry).
    const eddy = await serve(['--store', store, '--timelines', url, '--workers', '1'])
    children.push(eddy.child)
    const client = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: eddy.api } })
    await client.feed('user', 'o1').addActivity({ actor: 'a', verb: 'post', object: 'o' })

    await redis.kill()
    // The read runs out of its retries: several reconnection attempts have failed by now.
    // Which reason comes first depends on timing: the kill resets open sockets (closed the
    // connection), reconnects are refused. Both are plain words; neither is a driver's internals.
    const reason =
      '(nothing accepts connections there \\(connection refused\\)|the server closed the connection)'
    // The page cache asks Redis for the data version before the feed read itself: either names
    // what failed.
    const operation = '(a feed read|a data version read)'
    const detail = await detailOf(client.feed('user', 'o1').get())
    assert.match(
      detail,
      new RegExp(
        `^Redis at ${url} failed ${operation}: ${reason}; check that Redis is running and reachable at ${url} \\(Eddy reconnects by itself\\)$`,
      ),
    )
    await until(() => eddy.stderr.some((l) => l.includes(' is down: ')), 'the down line')

    await redis.start()
    await until(() => eddy.stderr.some((l) => l.includes(' is back after ')), 'the back line')
    // Answered again (this Redis keeps nothing on disk, so the timeline itself starts empty).
    assert.ok(Array.isArray((await client.feed('user', 'o1').get()).results))
    await stop(eddy.child)
    await redis.kill()

    const log = eddy.stderr.join('\n')
    assert.doesNotMatch(log, INTERNALS)
    const lines = eddy.stderr.map((l) => l.replace(/after \d+ s/, 'after N s'))
    assert.equal(lines.length, 3, log)
    assert.match(
      lines[0],
      new RegExp(
        `^eddy: Redis at ${url} is down: ${reason}; retrying until it is back \\(check that Redis is running and reachable at ${url}\\)$`,
      ),
    )
    assert.deepEqual(lines.slice(1), [
      `eddy: Redis at ${url} is back after N s`,
      'eddy: SIGTERM, finishing pending work',
    ])
  })

  it('PostgreSQL: one line down, one line back, and a 503 that says what to check', async () => {
    // A relay to PostgreSQL that the test cuts (closing every connection) and restores.
    const port = await freePort()
    const sockets = new Set<Socket>()
    let relay: Server | undefined
    const open = async () => {
      relay = createServer((socket) => {
        const upstream = tcp(PG.port, PG.host)
        for (const s of [socket, upstream]) {
          sockets.add(s)
          s.on('error', () => undefined)
          s.on('close', () => sockets.delete(s))
        }
        socket.pipe(upstream).pipe(socket)
      }).listen(port, '127.0.0.1')
      await once(relay, 'listening')
    }
    const cut = async () => {
      const closed = new Promise((resolve) => must(relay, 'the relay').close(resolve))
      for (const s of sockets) s.destroy()
      await closed
    }
    await open()
    const store = `postgres://${encodeURIComponent(PG.user)}@127.0.0.1:${port}/${PG.database}?schema=${schemas.name()}`
    const eddy = await serve(['--store', store])
    children.push(eddy.child)
    const client = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: eddy.api } })
    await client.feed('user', 'p1').addActivity({ actor: 'a', verb: 'post', object: 'o' })

    await cut()
    const detail = await detailOf(
      client.feed('user', 'p1').addActivity({ actor: 'a', verb: 'post', object: 'p' }),
    )
    assert.match(detail, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port} \\(database "${PG.database}"\\)`))
    // The first call after the cut either finds no connection (refused) or, when a pooled one
    // has not yet noticed the cut (a pipelining connection sends its whole write at once), loses
    // it mid-write; either way it says what to check.
    assert.match(
      detail,
      new RegExp(
        `(nothing accepts connections there \\(connection refused\\)|the server closed the connection; (nothing of it was applied|the connection broke while committing, so the change may or may not be applied \\(every write is safe to retry\\))); check that PostgreSQL is running and reachable at 127\\.0\\.0\\.1:${port}`,
      ),
    )
    assert.doesNotMatch(detail, /ECONNREFUSED 127/)
    assert.doesNotMatch(detail, INTERNALS)
    // A second call while it is down logs nothing more.
    await detailOf(client.feed('user', 'p1').get())
    await until(() => eddy.stderr.some((l) => l.includes(' is down: ')), 'the down line')

    await open()
    await until(async () => {
      try {
        return (await client.feed('user', 'p1').get()).results.length === 1
      } catch {
        return false
      }
    }, 'reads work again')
    await until(() => eddy.stderr.some((l) => l.includes(' is back after ')), 'the back line')
    await stop(eddy.child)
    await cut()

    const name = `PostgreSQL at 127.0.0.1:${port} (database "${PG.database}")`
    assert.doesNotMatch(eddy.stderr.join('\n'), INTERNALS)
    // Down for the first call that failed: a refused connection, or one in use that was cut.
    const outage = eddy.stderr.filter((l) => / is (down|back)/.test(l))
    assert.equal(outage.length, 2, outage.join('\n'))
    assert.match(
      outage[0],
      new RegExp(
        `^eddy: ${name.replace(/[.()]/g, '\\$&')} is down: (nothing accepts connections there \\(connection refused\\)|the server closed the connection); retrying until it is back \\(check that PostgreSQL is running and reachable at 127\\.0\\.0\\.1:${port}; calls fail with 503 meanwhile\\)$`,
      ),
    )
    assert.match(outage[1], new RegExp(`^eddy: ${name.replace(/[.()]/g, '\\$&')} is back after \\d+ s$`))
  })
})
