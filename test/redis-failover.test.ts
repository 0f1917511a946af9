/**
 * Failures in the middle of a fan-out on PostgreSQL + a Redis Cluster (3 masters, 3 replicas, from
 * scripts/redis-cluster.sh), with the BullMQ queue and workers in child processes:
 * - a worker killed with SIGKILL in the middle of a chunk (its Redis writes done, its PostgreSQL
 *   transaction not committed): another worker runs the chunk again;
 * - the Redis master holding the queue and a third of the timelines killed with SIGKILL during a
 *   fan-out to 100,000 followers: its replica takes over, the killed node comes back as a replica,
 *   and the fan-out finishes.
 * Either way every follower ends with the activity exactly once, group counters included.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { connect } from '../src/client/client.js'
import { idToSk } from '../src/engine/ids.js'
import { clusterUnavailable, startCluster, type TestCluster } from './fixtures/cluster.js'
import { eventually, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const WORKER = new URL('./fixtures/queue-worker.ts', import.meta.url).pathname
const skip = (await postgresUnavailable()) ?? (await clusterUnavailable())

interface Child {
  proc: ChildProcess
  lines: AsyncIterableIterator<string>
}

function worker(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', WORKER, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return {
    proc,
    lines: createInterface({ input: must(proc.stdout, 'the worker stdout') })[Symbol.asyncIterator](),
  }
}

async function waitFor(child: Child, line: string): Promise<void> {
  for (;;) {
    const { value, done } = await child.lines.next()
    if (done) throw new Error(`worker exited before printing ${line}`)
    if (value === line) return
  }
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return
  const exited = once(child.proc, 'exit')
  child.proc.kill('SIGTERM')
  await exited
}

/**
 * How the followers' timelines hold activity `sk` from `origin`: feeds holding exactly that one
 * entry, feeds holding anything else, and grouped feeds whose group is not counted exactly once.
 */
async function audit(cluster: TestCluster, prefix: string, sk: string, origin: string) {
  const out = { once: 0, wrong: [] as string[], badGroups: [] as string[], found: new Set<string>() }
  for (const port of await cluster.healthy()) {
    const redis = new Redis({ port, host: '127.0.0.1' })
    try {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000)
        cursor = next
        const entries = keys.filter((k) => /:e:/.test(k) && !k.endsWith(`:e:${origin}`))
        const groups = keys.filter((k) => /:g:/.test(k))
        const pipe = redis.pipeline()
        for (const key of entries) pipe.zrange(key, 0, -1)
        for (const key of groups) pipe.hgetall(key)
        const results = (await pipe.exec()) ?? []
        entries.forEach((key, i) => {
          const members = results[i][1] as string[]
          if (members.length === 1 && members[0] === `${sk}|${origin}`) {
            out.once++
            out.found.add(key.slice(key.indexOf(':e:') + 3))
          } else out.wrong.push(`${key}: ${JSON.stringify(members)}`)
        })
        groups.forEach((key, i) => {
          const hash = results[entries.length + i][1] as Record<string, string>
          for (const [field, value] of Object.entries(hash)) {
            if (!field.startsWith('g')) continue
            const [, , , count, actors] = JSON.parse(value) as [string, string, string, number, number]
            if (count !== 1 || actors !== 1) out.badGroups.push(`${key} ${field}: ${value}`)
          }
        })
      } while (cursor !== '0')
    } finally {
      redis.disconnect()
    }
  }
  return out
}

describe('failures during a fan-out on a Redis Cluster', { skip }, () => {
  const schemas = new ScratchSchemas('failover')
  const prefixes = new ScratchPrefixes('failover')
  let cluster: TestCluster
  const children: Child[] = []

  before(async () => {
    cluster = await startCluster()
  })
  after(async () => {
    await Promise.all(children.map(stop))
    try {
      await cluster?.stop()
    } finally {
      await schemas.drop()
    }
  })

  /** A fresh deployment: schema, prefix, `count` followers of user:celeb (every 10th aggregated). */
  async function deployment(count: number, wait: boolean) {
    const schema = schemas.name()
    const store = `${PG_URL}?schema=${schema}`
    const timelines = `${cluster.url}?prefix=${prefixes.name()}${wait ? '&wait=1' : ''}`
    const client = await connect({ store, timelines, queue: true }).ready()
    const follows = Array.from({ length: count }, (_, i) => ({
      source: i % 10 === 0 ? `timeline_aggregated:k${i}` : `timeline:k${i}`,
      target: 'user:celeb',
    }))
    for (let i = 0; i < count; i += 10_000) await client.followMany(follows.slice(i, i + 10_000), 0)
    // Fresh statistics after a bulk load, as autovacuum would give them within a minute: chunks
    // then walk the bucket index in order (docs/scale-out.md, "Sizing").
    await schemas.rows(`ANALYZE "${schema}".follows`)
    const jobs = async () =>
      schemas.rows<{ cursor: string | null }>(`SELECT cursor FROM "${schema}".fanout_jobs`)
    return {
      store,
      timelines,
      client,
      jobs,
      prefix: must(
        new URL(`x://h/${timelines.slice(timelines.indexOf('?'))}`).searchParams.get('prefix'),
        'the Redis prefix',
      ),
    }
  }

  it('a worker killed with SIGKILL mid-chunk: another runs the chunk again, each follower once', async () => {
    const d = await deployment(20_000, false)
    const doomed = worker(d.store, d.timelines, '1000', '1000', '3')
    children.push(doomed)
    await waitFor(doomed, 'READY')
    const added = await d.client
      .feed('user', 'celeb')
      .addActivity({ actor: 'celeb', verb: 'post', object: 'p:1' })
    await d.client.close()
    await waitFor(doomed, 'STALLED')
    const sk = must(idToSk(added.id), 'the sort key of the added activity')
    // Chunks 0-2 committed; chunk 3 wrote Redis and never committed.
    const [job] = await d.jobs()
    assert.ok(job?.cursor, 'the job is mid-way')
    assert.equal((await audit(cluster, d.prefix, sk, 'user:celeb')).once, 4000)
    doomed.proc.kill('SIGKILL')
    await once(doomed.proc, 'exit')

    const rescuer = worker(d.store, d.timelines, '1000', '1000')
    children.push(rescuer)
    await waitFor(rescuer, 'READY')
    await eventually(async () => (await d.jobs()).length === 0, 'the second worker finishes the job', 3000)
    const result = await audit(cluster, d.prefix, sk, 'user:celeb')
    assert.deepEqual(
      { once: result.once, wrong: result.wrong, badGroups: result.badGroups },
      { once: 20_000, wrong: [], badGroups: [] },
    )
    await stop(rescuer)
  })

  it('the queue’s Redis master killed with SIGKILL during a fan-out to 100,000 followers', async () => {
    const d = await deployment(100_000, true)
    const workers = [0, 1].map(() => worker(d.store, d.timelines, '2000', '1000'))
    children.push(...workers)
    for (const w of workers) await waitFor(w, 'READY')
    const victim = await cluster.masterOf(`{${d.prefix}}:fanout:id`)
    const added = await d.client
      .feed('user', 'celeb')
      .addActivity({ actor: 'celeb', verb: 'post', object: 'p:2' })
    await d.client.close()
    // Kill once a few chunks are in, while most followers are still to come.
    await eventually(
      async () => {
        const [job] = await d.jobs()
        return job?.cursor !== null && job?.cursor !== undefined && job.cursor >= '040'
      },
      'the fan-out is under way',
      3000,
    )
    const [running] = await d.jobs()
    assert.ok(
      running?.cursor != null && running.cursor < '300',
      `still running when the master dies (${running?.cursor})`,
    )
    cluster.kill(victim)
    // Every slot served by a live master again: the victim's replica took over.
    const masters = await cluster.healthy()
    assert.ok(!masters.includes(victim), 'a replica took over')
    // Back as a replica of the new master, so writes waiting for one replica (wait=1) go on.
    await cluster.restart(victim)
    await eventually(async () => (await d.jobs()).length === 0, 'the fan-out finishes', 9000)
    const result = await audit(cluster, d.prefix, must(idToSk(added.id), 'the sort key'), 'user:celeb')
    assert.deepEqual(
      { once: result.once, wrong: result.wrong.slice(0, 5), badGroups: result.badGroups },
      { once: 100_000, wrong: [], badGroups: [] },
    )
    await Promise.all(workers.map(stop))
  })
})
