/**
 * A scale-out deployment as docs/scale-out.md runs it: two `eddy serve` processes and two
 * `eddy worker` processes on one PostgreSQL and one Redis Cluster (3 masters, 3 replicas, started
 * by scripts/redis-cluster.sh), driven by the official `getstream` client. Writes through one
 * server are read through the other; the first server only queues fan-out (`--workers 0`), the
 * second also runs a queue worker of its own (`--workers 1`) beside the two worker processes.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import stream from 'getstream'
import { clusterUnavailable, startCluster, type TestCluster } from './fixtures/cluster.js'
import { startEddy, stopEddy } from './fixtures/eddy-process.js'
import { eventually, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const KEY = 'scale-key'
const SECRET = 'scale-secret'

const skip = (await postgresUnavailable()) ?? (await clusterUnavailable())

describe('two servers and two workers on PostgreSQL and a Redis Cluster', { skip }, () => {
  const schemas = new ScratchSchemas('scaleout')
  const schema = schemas.name()
  const store = `${PG_URL}?schema=${schema}`
  let cluster: TestCluster
  const children: ChildProcess[] = []
  let urls: string[] = []
  let workerMetrics = ''

  before(async () => {
    cluster = await startCluster()
    const common = ['--store', store, '--timelines', cluster.url, '--api-key', KEY, '--api-secret', SECRET]
    // The first server creates the schema; the others then open a migrated one.
    const first = await startEddy(
      ['serve', '--port', '0', '--workers', '0', ...common],
      /serving (\S+)v1\.0\//,
    )
    const second = await startEddy(
      ['serve', '--port', '0', '--workers', '1', ...common],
      /serving (\S+)v1\.0\//,
    )
    children.push(first.child, second.child)
    urls = [first.match[1], second.match[1]]
    const worker = ['worker', '--store', store, '--timelines', cluster.url, '--concurrency', '2']
    const metered = await startEddy([...worker, '--metrics-port', '0'], /^eddy worker on .*metrics on (\S+)/)
    workerMetrics = metered.match[1]
    children.push(metered.child, (await startEddy(worker, /^eddy worker on /)).child)
  })

  after(async () => {
    const codes = await Promise.all(children.map(stopEddy))
    try {
      await cluster?.stop()
    } finally {
      await schemas.drop()
    }
    assert.deepEqual(codes, [0, 0, 0, 0], 'every process exits cleanly on SIGTERM')
  })

  const jobsLeft = async () =>
    Number((await schemas.rows<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".fanout_jobs`))[0].n)

  it('delivers what one server accepted, read through the other, each follower once', async () => {
    const [a, b] = urls.map((api) => stream.connect(KEY, SECRET, 'app', { urlOverride: { api } }))
    const follows = Array.from({ length: 600 }, (_, i) => ({
      source: i % 5 === 0 ? `timeline_aggregated:u${i}` : `timeline:u${i}`,
      target: 'user:star',
    }))
    assert.ok(a.followMany, 'a server-side client has followMany')
    await a.followMany(follows, 0)
    const ids: string[] = []
    for (let i = 0; i < 12; i++) {
      const client = i % 2 === 0 ? a : b
      const added = await client
        .feed('user', 'star')
        .addActivity({ actor: 'star', verb: 'post', object: `post:${i}`, to: ['notification:fan'] })
      ids.push(added.id)
    }
    // Direct entries are written with the add: the other server reads them at once.
    const own = await b.feed('user', 'star').get({ limit: 25 })
    assert.deepEqual(own.results.map((r) => r.id).sort(), [...ids].sort())

    await eventually(async () => (await jobsLeft()) === 0, 'the workers deliver every fan-out job', 3000)
    for (const i of [1, 2, 299, 599]) {
      const { results } = await (i % 2 ? a : b).feed('timeline', `u${i}`).get({ limit: 25 })
      assert.deepEqual(results.map((r) => r.id).sort(), [...ids].sort(), `timeline:u${i}`)
    }
    for (const i of [0, 300, 595]) {
      const { results } = await b.feed('timeline_aggregated', `u${i}`).get()
      const counts = results.map((g) => (g as unknown as { activity_count: number }).activity_count)
      assert.equal(
        counts.reduce((x, y) => x + y, 0),
        12,
        `timeline_aggregated:u${i} counts each activity once`,
      )
    }
    const notes = (await a.feed('notification', 'fan').get({ mark_seen: true })) as unknown as {
      unseen: number
      results: { activity_count: number }[]
    }
    assert.equal(notes.results[0].activity_count, 12)
    const again = (await b.feed('notification', 'fan').get()) as unknown as { unseen: number }
    assert.equal(again.unseen, 0, 'a mark made through one server is seen through the other')
  })

  it('serves Prometheus metrics from the workers and withdraws removals through the queue', async () => {
    const [a, b] = urls.map((api) => stream.connect(KEY, SECRET, 'app', { urlOverride: { api } }))
    const { results } = await b.feed('user', 'star').get({ limit: 1 })
    await a.feed('user', 'star').removeActivity(results[0].id)
    await eventually(async () => (await jobsLeft()) === 0, 'the removal reaches every follower', 3000)
    const timeline = await b.feed('timeline', 'u7').get({ limit: 25 })
    assert.equal(timeline.results.length, 11)
    assert.ok(!timeline.results.some((r) => r.id === results[0].id))

    const metric = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
    const fromWorker = await (await fetch(workerMetrics)).text()
    assert.ok(metric(fromWorker, 'eddy_fanout_chunk_seconds_count') > 0, fromWorker)
    assert.equal(metric(fromWorker, 'eddy_fanout_chunk_failures_total'), 0)
    // The servers (queue only) report the queue's depth too: empty once everything is delivered.
    const fromServer = await (await fetch(new URL('/metrics', urls[0]))).text()
    assert.equal(metric(fromServer, 'eddy_fanout_queue_jobs\\{state="waiting"\\}'), 0)
    assert.equal(metric(fromServer, 'eddy_fanout_enqueue_failures_total'), 0)
  })
})
