/**
 * "A follow and a concurrent add never miss each other" (store.ts rule 4), with real
 * concurrency: on SQLite, an adding process and two following processes on one file; on the
 * memory store, the same loops interleaved in one process. (PostgreSQL: postgres-processes.test.ts.)
 * Every follower must end with every activity, once.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import { must } from './helpers.js'

const CHILD = new URL('./fixtures/store-process.ts', import.meta.url).pathname
const ADDS = 40
const FOLLOWERS = 40

async function run(...args: string[]): Promise<void> {
  const proc = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  for await (const line of createInterface({ input: must(proc.stdout, 'the child stdout') }))
    if (line === 'DONE') return
  throw new Error(`${args[0]} exited before it was done`)
}

/** Every follower's timeline holds every activity of user:hot exactly once. */
async function assertComplete(client: EddyClient): Promise<void> {
  const { results } = await client.feed('user', 'hot').get({ limit: 100 })
  assert.equal(results.length, ADDS)
  const ids = results.map((a) => a.id).sort()
  for (let i = 0; i < FOLLOWERS; i++) {
    const page = await client.feed('timeline', `f${i}`).get({ limit: 100 })
    assert.deepEqual(page.results.map((a) => a.id).sort(), ids, `timeline:f${i}`)
    if (i % 4 !== 0) continue
    const grouped = await client.feed('timeline_aggregated', `f${i}`).get()
    const total = grouped.results.reduce((n, g) => n + (g as { activity_count: number }).activity_count, 0)
    assert.equal(total, ADDS, `timeline_aggregated:f${i}`)
  }
}

describe('follows racing adds on one feed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-race-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('sqlite: one adding and two following processes on one file', async () => {
    const store = `sqlite:${join(dir, 'race.sqlite')}`
    await connect({ store }).close()
    const half = String(FOLLOWERS / 2)
    await Promise.all([
      run('adder', store, String(ADDS)),
      run('follower', store, '0', half),
      run('follower', store, half, String(FOLLOWERS)),
    ])
    const client = connect({ store })
    try {
      await client.flush()
      await assertComplete(client)
    } finally {
      await client.close()
    }
  })

  it('memory: the same loops interleaved in one process', async () => {
    const client = connect({ store: 'memory', fanoutChunkSize: 3 })
    try {
      const adder = (async () => {
        for (let i = 0; i < ADDS; i++) {
          await client.feed('user', 'hot').addActivity({ actor: 'hot', verb: 'post', object: `hot:${i}` })
        }
      })()
      const follower = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          await client.feed('timeline', `f${i}`).follow('user', 'hot', { limit: 1000 })
          if (i % 4 === 0)
            await client.feed('timeline_aggregated', `f${i}`).follow('user', 'hot', { limit: 1000 })
        }
      }
      await Promise.all([adder, follower(0, FOLLOWERS / 2), follower(FOLLOWERS / 2, FOLLOWERS)])
      await client.flush()
      await assertComplete(client)
    } finally {
      await client.close()
    }
  })
})
