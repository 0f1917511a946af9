/**
 * The `eddy` command's hints (issue 19 item 6): a misspelt flag, command or --config key names
 * the valid ones and the nearest; a taken port names the flag that sets it.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'

const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname

/** Runs `eddy <args>` to its end; resolves with its exit code and stderr. */
function eddy(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=eddy-source', '--import', 'tsx', CLI, ...args],
      { timeout: 120_000 },
      (error, _stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? null) : 0, stderr }),
    )
  })
}

describe('eddy hints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-hints-'))
  let taken: Server
  let port: number

  before(async () => {
    taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    port = (taken.address() as { port: number }).port
  })
  after(() => {
    taken.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a misspelt flag lists the flags and guesses the one meant, on every command', async () => {
    const serve = await eddy(['serve', '--prot', '8001'])
    assert.equal(serve.code, 2)
    assert.match(
      serve.stderr,
      /^eddy: the serve command has no flag "--prot"; the flags are --port, --host, --store, .*--help; did you mean "--port"\?\n$/,
    )
    const worker = await eddy(['worker', '--store', 'sqlite:x.db', '--concurency=2'])
    assert.match(
      worker.stderr,
      /the worker command has no flag "--concurency"; .*did you mean "--concurrency"\?/,
    )
    const rebuild = await eddy(['rebuild-timelines', '--timeline', 'redis://x'])
    assert.match(
      rebuild.stderr,
      /the rebuild-timelines command has no flag "--timeline"; .*did you mean "--timelines"\?/,
    )
  })

  it('a misspelt command and a misspelt --config key get the same hint', async () => {
    const command = await eddy(['serv'])
    assert.equal(command.code, 2)
    assert.match(
      command.stderr,
      /unknown command "serv": the commands are serve, worker, .*; did you mean "eddy serve"\?/,
    )
    const config = join(dir, 'eddy.json')
    writeFileSync(config, JSON.stringify({ feedGroup: { profile: { type: 'flat' } } }))
    const keyed = await eddy(['serve', '--store', 'memory', '--config', config])
    assert.equal(keyed.code, 2)
    assert.match(
      keyed.stderr,
      /--config .*eddy\.json has no key "feedGroup"; the keys are feedGroups, publicReadGroups, .*; did you mean "feedGroups"\?/,
    )
  })

  it('a taken --port names the flag and how to pick another', async () => {
    const result = await eddy(['serve', '--store', 'memory', '--port', String(port)])
    assert.equal(result.code, 2)
    assert.equal(
      result.stderr,
      `eddy: --port ${port}: the port is taken by another process; pick another with --port <n> (--port 0 picks a free one)\n`,
    )
  })

  it('--metrics-port without the queue is refused, not ignored', async () => {
    const result = await eddy(['worker', '--store', `sqlite:${join(dir, 'w.db')}`, '--metrics-port', '0'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--metrics-port needs the queue \(--timelines or --queue\)/)
  })

  it('a taken --metrics-port names the flag', async (t) => {
    const why = (await postgresUnavailable()) ?? (await redisUnavailable())
    if (why) return t.skip(why)
    const schemas = new ScratchSchemas('hints')
    const prefixes = new ScratchPrefixes('hints')
    try {
      const store = `${PG_URL}?schema=${schemas.name()}`
      const timelines = `${REDIS_URL}?prefix=${prefixes.name()}`
      const result = await eddy([
        'worker',
        '--store',
        store,
        '--timelines',
        timelines,
        '--metrics-port',
        String(port),
      ])
      assert.equal(result.code, 2)
      assert.match(
        result.stderr,
        new RegExp(
          `eddy: --metrics-port ${port}: the port is taken by another process; pick another with --metrics-port <n>`,
        ),
      )
    } finally {
      await schemas.drop()
      await prefixes.drop()
    }
  })
})
