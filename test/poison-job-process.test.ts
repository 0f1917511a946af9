/**
 * A poisoned fan-out job on PostgreSQL, with a real kill -9 and restart (issue 17, item 3): the
 * poison (a job whose group key holds a NUL, as a verb with a NUL made before input was checked)
 * is claimed first, with ten adds to 700 followers behind it. The process running them is killed
 * mid-way; the restarted one delivers every add to every follower, sets the poison aside as dead
 * after 3 failures, and `eddy jobs list` / `eddy jobs retry --all` show it and put it back.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { connect } from '../src/client/client.js'
import { idToSk, skToId, sortKey, tailFor } from '../src/engine/ids.js'
import type { FanoutJob } from '../src/store/store.js'
import { stopEddy } from './fixtures/eddy-process.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { passes } from './fixtures/wait.js'

const skip = await postgresUnavailable()
const schemas = new ScratchSchemas('poison')
after(() => schemas.drop())

const CHILD = new URL('./fixtures/poison-child.ts', import.meta.url).pathname
const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
const FOLLOWERS = 700
const POSTS = 10
const LEASE_MS = 1_500

/** Starts the child fixture and resolves once it printed a line matching `ready`. */
async function startChild(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  for await (const line of createInterface({ input: child.stdout })) {
    if (ready.test(line)) {
      child.stdout.resume()
      return child
    }
  }
  throw new Error(`the child exited before printing ${ready}`)
}

/** `eddy jobs <args>`: its standard output. */
async function eddyJobs(...args: string[]): Promise<string> {
  const run = promisify(execFile)
  const { stdout } = await run(process.execPath, [
    '--conditions=eddy-source',
    '--import',
    'tsx',
    CLI,
    'jobs',
    ...args,
  ])
  return stdout
}

describe('a poisoned fan-out job on PostgreSQL, kill -9 and restart', { skip }, () => {
  it('delivers every job claimed behind the poison after a restart, and sets the poison aside as dead', async () => {
    const schema = schemas.name()
    const url = `${PG_URL}?schema=${schema}`
    const store = await schemas.open(schema)
    // Accepts only: jobs stay unleased for the child processes to claim.
    const client = connect({ store, localFanout: false })
    const children: ChildProcess[] = []
    try {
      const follows = Array.from({ length: FOLLOWERS }, (_, i) => ({
        source: `timeline:f${i}`,
        target: 'user:star',
      }))
      await client.followMany(follows, 0)
      await client.feed('timeline_aggregated', 'victim').follow('user', 'poison')
      const sk = sortKey(Date.UTC(2026, 0, 1) * 1000, tailFor('c:poison'))
      const id = skToId(sk)
      const poison: FanoutJob = {
        id: 'poison-job',
        op: 'add',
        feed: 'user:poison',
        sk,
        cursor: null,
        shapes: {
          timeline_aggregated: { kind: 'aggregated', group: 'po\u0000st', actor: 'mallory', groupId: id },
        },
      }
      const body = JSON.stringify({ id, actor: 'mallory', verb: 'po\u0000st', object: 'o', origin: null })
      await store.write({ activities: [{ sk, body }], fanout: [poison], leaseMs: 0 })
      const sks: string[] = []
      for (let i = 0; i < POSTS; i++) {
        const added = await client
          .feed('user', 'star')
          .addActivity({ actor: 'star', verb: 'post', object: `p:${i}` })
        sks.push(added.id)
      }

      // The first process claims them all (the poison first), fails the poison once, delivers
      // a few chunks of the rest, and is killed with its leases held.
      const doomed = await startChild(['serve', url, String(LEASE_MS), '5'], /^STALLED$/)
      children.push(doomed)
      doomed.kill('SIGKILL')
      const restarted = await startChild(['serve', url, String(LEASE_MS)], /^READY$/)
      children.push(restarted)

      const delivered = async () => {
        const rows = await schemas.rows<{ n: string }>(
          `SELECT count(*) AS n FROM "${schema}".entries WHERE feed LIKE 'timeline:f%' AND sk = ANY($1)`,
          [sks.map((s) => idToSk(s))],
        )
        assert.equal(Number(rows[0].n), FOLLOWERS * POSTS)
      }
      await passes(delivered)
      const deadPoison = async () => {
        const dead = await client.engine.deadFanout()
        assert.equal(dead.total, 1, JSON.stringify(dead))
        assert.equal(dead.jobs[0].id, 'poison-job')
        assert.equal(dead.jobs[0].failures, 3)
        assert.match(dead.jobs[0].reason, /0x00|UTF8/)
      }
      await passes(deadPoison)
      assert.match(await client.engine.metrics(), /^eddy_fanout_dead_jobs 1$/m)
      const victim = await client.feed('timeline_aggregated', 'victim').get()
      assert.equal(victim.results.length, 0)

      const listed = await eddyJobs('list', '--store', url)
      assert.match(listed, /^1 dead fan-out job$/m)
      assert.match(listed, /^poison-job {2}add user:poison \S+ {2}3 failures, last \S+: .*(0x00|UTF8)/m)
      const json = JSON.parse(await eddyJobs('list', '--store', url, '--json'))
      assert.equal(json.total, 1)
      assert.match(await eddyJobs('retry', '--all', '--store', url), /^put back 1 dead fan-out job;/)
      // Back in the queue with no failures, the running process fails it 3 times again.
      await passes(async () => {
        const dead = await client.engine.deadFanout()
        assert.equal(dead.total, 1)
      })
      assert.match(await eddyJobs('retry', 'no-such-job', '--store', url), /^put back 0 dead fan-out jobs;/)
    } finally {
      for (const child of children) await stopEddy(child)
      await client.close()
    }
  })
})
