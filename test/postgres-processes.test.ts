/**
 * Several processes on one PostgreSQL database, as a deployment runs them: 4 writer processes and
 * 2 fan-out workers; follows racing adds on the same feed; and a worker killed with SIGKILL in the
 * middle of a fan-out to 20,000 followers. Every follower must hold every activity exactly once.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { connect } from '../src/client/client.js'
import { eventually, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const CHILD = new URL('./fixtures/store-process.ts', import.meta.url).pathname

interface Child {
  proc: ChildProcess
  lines: AsyncIterableIterator<string>
  exited: Promise<number | null>
}

function child(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, lines, exited }
}

async function waitFor(c: Child, line: string): Promise<void> {
  for (;;) {
    const { value, done } = await c.lines.next()
    if (done) throw new Error(`child exited before printing ${line}`)
    if (value === line) return
  }
}

async function stop(c: Child): Promise<void> {
  if (c.proc.exitCode === null) c.proc.kill('SIGTERM')
  await c.exited
}

describe('PostgreSQL: several processes on one database', { skip: await postgresUnavailable() }, () => {
  const schemas = new ScratchSchemas('procs')
  after(() => schemas.drop())
  const urlOf = (schema: string) => `${PG_URL}?schema=${schema}`
  const jobsLeft = async (schema: string) =>
    Number((await schemas.rows<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".fanout_jobs`))[0].n)

  let schema: string
  before(async () => {
    schema = schemas.name()
    // Open once so the schema exists before the processes race to use it.
    await (await schemas.open(schema)).close()
  })

  it('4 writer processes and 2 fan-out workers deliver every activity to every follower once', async () => {
    const setup = await connect({ store: urlOf(schema) }).ready()
    const followers = Array.from({ length: 400 }, (_, i) => ({
      source: i % 5 === 0 ? `timeline_aggregated:w${i}` : `timeline:w${i}`,
      target: 'user:star',
    }))
    await setup.followMany(followers, 0)
    await setup.close()

    const workers = [
      child('worker', urlOf(schema), '2000', '50'),
      child('worker', urlOf(schema), '2000', '50'),
    ]
    await Promise.all(workers.map((w) => waitFor(w, 'READY')))
    const writers = ['a', 'b', 'c', 'd'].map((name) => child('writer', urlOf(schema), name, '25'))
    await Promise.all(writers.map((w) => waitFor(w, 'DONE')))
    await eventually(async () => (await jobsLeft(schema)) === 0, 'the workers finish every job', 3000)
    await Promise.all(workers.map(stop))

    const check = await connect({ store: urlOf(schema) }).ready()
    try {
      const own = await check.feed('user', 'star').get({ limit: 100 })
      assert.equal(own.results.length, 100)
      const ids = own.results.map((a) => a.id).sort()
      for (const i of [1, 2, 3, 199, 399]) {
        const { results } = await check.feed('timeline', `w${i}`).get({ limit: 100 })
        assert.deepEqual(results.map((a) => a.id).sort(), ids, `timeline:w${i}`)
      }
      for (const i of [0, 200, 395]) {
        const page = await check.feed('timeline_aggregated', `w${i}`).get()
        const total = page.results.reduce((n, g) => n + (g as { activity_count: number }).activity_count, 0)
        assert.equal(total, 100, `timeline_aggregated:w${i} counts each activity once`)
      }
      const [entries] = await schemas.rows<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".entries WHERE feed LIKE 'timeline:w%'`,
      )
      assert.equal(Number(entries.n), 320 * 100)
    } finally {
      await check.close()
    }
  })

  it('follows racing adds on the same feed: each follower gets each activity once', async () => {
    const adder = child('adder', urlOf(schema), '60')
    const followerA = child('follower', urlOf(schema), '0', '40')
    const followerB = child('follower', urlOf(schema), '40', '80')
    await Promise.all([adder, followerA, followerB].map((c) => waitFor(c, 'DONE')))
    await eventually(async () => (await jobsLeft(schema)) === 0, 'fan-out finishes', 3000)
    const check = await connect({ store: urlOf(schema) }).ready()
    try {
      const { results } = await check.feed('user', 'hot').get({ limit: 100 })
      assert.equal(results.length, 60)
      const ids = results.map((a) => a.id).sort()
      for (let i = 0; i < 80; i++) {
        const page = await check.feed('timeline', `f${i}`).get({ limit: 100 })
        assert.deepEqual(
          page.results.map((a) => a.id).sort(),
          ids,
          `timeline:f${i} missed or doubled an activity`,
        )
        if (i % 4 !== 0) continue
        const grouped = await check.feed('timeline_aggregated', `f${i}`).get()
        const total = grouped.results.reduce(
          (n, g) => n + (g as { activity_count: number }).activity_count,
          0,
        )
        assert.equal(total, 60, `timeline_aggregated:f${i}`)
      }
    } finally {
      await check.close()
    }
  })

  it('a worker killed mid-fan-out to 20,000 followers: another finishes it, each follower once', async () => {
    const big = schemas.name()
    const setup = await connect({ store: urlOf(big), localFanout: false }).ready()
    const follows = Array.from({ length: 20_000 }, (_, i) => ({
      source: i % 10 === 0 ? `timeline_aggregated:k${i}` : `timeline:k${i}`,
      target: 'user:celeb',
    }))
    for (let i = 0; i < follows.length; i += 2500) await setup.followMany(follows.slice(i, i + 2500), 0)
    // A twentieth of them read their timelines lately: fan-out delivers to them first.
    await schemas.rows(
      `INSERT INTO "${big}".feed_reads SELECT 'timeline:k' || i, now() FROM generate_series(5, 19999, 20) AS i`,
    )
    const added = await setup
      .feed('user', 'celeb')
      .addActivity({ actor: 'celeb', verb: 'post', object: 'p:1' })
    await setup.close()

    // The first worker runs 5 chunks of 1,000, then hangs and is killed: those chunks were the
    // priority walk (4,000 followers read a chunk), so they delivered to every recent reader only.
    const doomed = child('worker', urlOf(big), '500', '1000', '5')
    await waitFor(doomed, 'STALLED')
    doomed.proc.kill('SIGKILL')
    await doomed.exited
    const feeds = async (sql: string) => (await schemas.rows<{ feed: string }>(sql)).map((r) => r.feed)
    assert.deepEqual(
      await feeds(`SELECT feed FROM "${big}".entries WHERE origin = 'user:celeb' ORDER BY feed`),
      await feeds(`SELECT feed FROM "${big}".feed_reads ORDER BY feed`),
      'the killed worker delivered exactly its 5 committed chunks: the 1,000 recent readers',
    )

    // Its lease runs out and a second worker takes the job over from the stored cursor.
    const rescuer = child('worker', urlOf(big), '500', '1000')
    await waitFor(rescuer, 'READY')
    await eventually(async () => (await jobsLeft(big)) === 0, 'the second worker finishes the job', 3000)
    await stop(rescuer)

    const [counts] = await schemas.rows<{ entries: string; feeds: string }>(
      `SELECT count(*) AS entries, count(DISTINCT feed) AS feeds FROM "${big}".entries WHERE sk = (
         SELECT sk FROM "${big}".entries WHERE feed = 'user:celeb')
         AND origin = 'user:celeb'`,
    )
    assert.deepEqual([Number(counts.entries), Number(counts.feeds)], [20_000, 20_000])
    const groups = await schemas.rows<{ n: string; bad: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE activity_count <> 1) AS bad FROM "${big}".feed_groups`,
    )
    assert.deepEqual([Number(groups[0].n), Number(groups[0].bad)], [2000, 0])
    const check = await connect({ store: urlOf(big) }).ready()
    try {
      const { results } = await check.feed('timeline', 'k19999').get()
      assert.deepEqual(
        results.map((a) => a.id),
        [added.id],
      )
    } finally {
      await check.close()
    }
  })
})
