/**
 * Integration benchmarks: (a) enriching a 25-activity page that references 3 models (query count,
 * and time against reading the page), (b) what publishing on insert adds per row on the embedded
 * store. Run alone: `node --conditions=eddy-source --import tsx bench/enrich-bench.ts`.
 */
import 'reflect-metadata'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataSource } from 'typeorm'
import { connect } from '../src/client/client.js'
import { configure, Enrich, resetSettings, withoutTracking } from '../src/django/index.js'
import { trackDataSource } from '../src/django/typeorm/index.js'
import { Board, ENTITIES, Pin, User } from '../test/fixtures/integration/entities.js'
import { CountingLogger } from '../test/fixtures/integration/typeorm-suite.js'
import type { BenchRow } from './table.js'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function time(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

export async function benchEnrich(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-enrich-bench-'))
  const eddy = connect({ store: `sqlite:${join(dir, 'feeds.sqlite')}` })
  const logger = new CountingLogger()
  const ds = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: ENTITIES,
    synchronize: true,
    logger,
  })
  await ds.initialize()
  const untrack = trackDataSource(ds)
  configure({ client: eddy })
  const rows: BenchRow[] = []
  try {
    // (a) a 25-activity page referencing User, Pin and Board.
    const users = await withoutTracking(() =>
      ds.getRepository(User).save([{ username: 'a' }, { username: 'b' }, { username: 'c' }]),
    )
    const board = await ds.getRepository(Board).save({ name: 'board' })
    const pins = await withoutTracking(() =>
      ds
        .getRepository(Pin)
        .save(Array.from({ length: 25 }, (_, i) => ds.getRepository(Pin).create({ author: users[i % 3] }))),
    )
    const feed = eddy.feed('timeline', 'reader')
    await feed.addActivities(
      pins.map((p, i) => ({
        actor: `User:${users[i % 3].id}`,
        verb: 'pin',
        object: `Pin:${p.id}`,
        target: `Board:${board.id}`,
      })),
    )
    const enrich = new Enrich(['actor', 'object', 'target'])
    const page = (await feed.get({ limit: 25 })).results as Record<string, unknown>[]
    logger.reset()
    await enrich.enrichActivities(page)
    const queries = logger.selects
    const readMs = await time(200, () => feed.get({ limit: 25 }))
    const enrichMs = await time(200, () => enrich.enrichActivities(page))
    rows.push({
      name: 'enrich: 25-activity page, 3 models (queries)',
      value: String(queries),
      target: 'exactly 3',
      met: queries === 3,
    })
    rows.push({
      name: 'enrich: 25-activity page, 3 models (time vs page read)',
      value: `${enrichMs.toFixed(3)} ms vs read ${readMs.toFixed(3)} ms (${(enrichMs / readMs).toFixed(1)}x)`,
      target: 'reported',
      met: true,
    })

    // (b) per-row overhead of publishing on insert (repository.insert, no transaction).
    const n = 2000
    const repo = ds.getRepository(Pin)
    const author = users[0]
    for (let i = 0; i < 200; i++) await repo.insert({ author }) // warm-up (tracked)
    const activity = (i: number) => ({
      actor: 'User:1',
      verb: 'pin',
      object: `Pin:${i}`,
      foreign_id: `Pin:${i}`,
      time: new Date(),
    })
    // Three kinds of batches, alternated so drift (GC, caches, other load) hits all alike:
    // untracked inserts; tracked inserts; and "by hand": an untracked insert followed by the same
    // store write the integration makes. The integration's own overhead is tracked − by hand.
    // Comparing with the store write timed back to back instead would charge the integration for
    // the cost of alternating between TypeORM's database and the feed store, which slows both
    // the insert and the write (measured: addActivity 0.19 ms in that rhythm, 0.14 ms alone).
    let untracked = 0
    let tracked = 0
    let byHand = 0
    let byHandWrites = 0
    const handFeed = eddy.feed('user', 'by-hand')
    const batch = 200
    for (let round = 0; round < n / batch; round++) {
      untracked += await withoutTracking(async () => {
        const start = performance.now()
        for (let i = 0; i < batch; i++) await repo.insert({ author })
        return performance.now() - start
      })
      const start = performance.now()
      for (let i = 0; i < batch; i++) await repo.insert({ author })
      tracked += performance.now() - start
      byHand += await withoutTracking(async () => {
        const start = performance.now()
        for (let i = 0; i < batch; i++) {
          await repo.insert({ author })
          const startWrite = performance.now()
          await handFeed.addActivity(activity(round * batch + i))
          byHandWrites += performance.now() - startWrite
        }
        return performance.now() - start
      })
    }
    await eddy.flush()
    const perRow = (tracked - untracked) / n
    const overhead = (tracked - byHand) / n
    const storeWrite = byHandWrites / n
    // The same write back to back, for reference.
    const direct = eddy.feed('user', 'direct')
    const startDirect = performance.now()
    for (let i = 0; i < n; i++) await direct.addActivity(activity(i))
    const backToBack = (performance.now() - startDirect) / n
    rows.push({
      name: 'publish on insert: integration overhead without the store write',
      value: `${Math.max(0, overhead).toFixed(3)} ms (addActivity alone ${storeWrite.toFixed(3)} ms; back to back ${backToBack.toFixed(3)} ms)`,
      target: '≤ 0.2 ms',
      met: overhead <= 0.2,
    })
    rows.push({
      name: 'publish on insert: added time per row (embedded SQLite store)',
      value: `${perRow.toFixed(3)} ms (insert ${(untracked / n).toFixed(3)} ms → ${(tracked / n).toFixed(3)} ms)`,
      target: '≤ 0.2 ms',
      met: perRow <= 0.2,
    })
  } finally {
    untrack()
    await ds.destroy()
    await resetSettings()
    await eddy.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchEnrich()))
}
