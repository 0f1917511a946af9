import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import { openSqliteStore } from '../src/store/sqlite/index.js'
import type { AggregatedFeedResponse, NotificationFeedResponse } from '../src/wire/responses.js'
import { must } from './helpers.js'

const CHILD = new URL('./fixtures/fanout-child.ts', import.meta.url).pathname

function child(...args: string[]): {
  proc: ChildProcess
  lines: AsyncIterableIterator<string>
  exited: Promise<number | null>
} {
  const proc = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: must(proc.stdout, 'the child stdout') })[Symbol.asyncIterator]()
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, lines, exited }
}

async function waitFor(lines: AsyncIterableIterator<string>, prefix: string): Promise<string> {
  for (;;) {
    const { value, done } = await lines.next()
    if (done) throw new Error(`child exited before printing ${prefix}`)
    if (value.startsWith(prefix)) return value
  }
}

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'eddy-crash-')), 'feeds.sqlite')

/** Every activity id of a feed, newest first, paging by id_lt. */
async function allIds(client: EddyClient, slug: string, id: string): Promise<string[]> {
  const out: string[] = []
  for (let page = await client.feed(slug, id).get({ limit: 100 }); ; ) {
    out.push(...page.results.map((a) => (a as { id: string }).id))
    if (page.results.length < 100) return out
    page = await client.feed(slug, id).get({ limit: 100, id_lt: out.at(-1) })
  }
}

/**
 * A fresh SQLite file where `followers` timelines (`timeline:<prefix><i>`) follow user:star, a
 * child writing to it in `mode` killed with SIGKILL once `acks` adds are acknowledged, then the
 * file reopened with the interrupted fan-out resumed and flushed: the acknowledged ids and that
 * client (close it).
 */
async function killAfterAcks(
  mode: string,
  prefix: string,
  followers: number,
  arg: string,
  acks: number,
): Promise<{ ids: string[]; client: EddyClient }> {
  const db = tempDb()
  const setup = connect({ store: `sqlite:${db}` })
  await setup.followMany(
    Array.from({ length: followers }, (_, i) => ({ source: `timeline:${prefix}${i}`, target: 'user:star' })),
    0,
  )
  await setup.close()
  const { proc, lines, exited } = child(mode, db, arg)
  const ids: string[] = []
  while (ids.length < acks) ids.push((await waitFor(lines, 'ACCEPTED ')).slice('ACCEPTED '.length))
  proc.kill('SIGKILL')
  await exited

  await new Promise((resolve) => setTimeout(resolve, 350))
  const client = connect({ store: `sqlite:${db}` })
  try {
    await client.engine.resume()
    await client.flush()
  } catch (error) {
    await client.close()
    throw error
  }
  return { ids, client }
}

describe('sqlite: durability', () => {
  it('finishes a fan-out killed with SIGKILL mid-way after a restart, with no follower missed or served twice', async () => {
    const db = tempDb()
    const { proc, lines, exited } = child('stall', db, '3000', '200', '4')
    const accepted = (await waitFor(lines, 'ACCEPTED ')).slice('ACCEPTED '.length)
    await waitFor(lines, 'STALLED')
    proc.kill('SIGKILL')
    await exited

    // The dead process's lease on its job runs out; then it is anyone's to claim (briefly here).
    await new Promise((resolve) => setTimeout(resolve, 350))
    const raw = openSqliteStore(db)
    const pending = await raw.jobs.claimFanout({ limit: 10, leaseMs: 1 })
    await raw.close()
    assert.equal(pending.length, 1, 'the kill should leave one fan-out job half done')
    assert.notEqual(pending[0].cursor, null)
    await new Promise((resolve) => setTimeout(resolve, 5))

    const store = openSqliteStore(db)
    const client = connect({ store, fanoutChunkSize: 200 })
    try {
      await client.engine.resume()
      await client.flush()
      for (let i = 0; i < 3000; i++) {
        const feed =
          i % 5 === 0 ? client.feed('timeline_aggregated', `f${i}`) : client.feed('timeline', `f${i}`)
        const page = await feed.get()
        if (i % 5 === 0) {
          const groups = (page as AggregatedFeedResponse).results
          assert.equal(groups.length, 1, `f${i}`)
          assert.equal(groups[0].activity_count, 1, `f${i} served twice`)
          assert.equal(groups[0].activities[0].id, accepted)
        } else {
          assert.deepEqual(
            page.results.map((a) => (a as { id: string }).id),
            [accepted],
            `f${i}`,
          )
        }
      }
      assert.deepEqual(await store.jobs.claimFanout({ limit: 10, leaseMs: 1 }), [])
    } finally {
      await client.close()
    }
  })

  it('keeps every acknowledged add and delivers it after a SIGKILL at an arbitrary point', async () => {
    const { ids, client } = await killAfterAcks('stream', 's', 400, '1000', 5)
    try {
      // Every page: more than a page of adds may have landed before the kill.
      const stored = new Set(await allIds(client, 'user', 'star'))
      for (const id of ids) assert.ok(stored.has(id), `acknowledged ${id} lost`)
      for (const i of [0, 199, 399]) {
        assert.deepEqual(
          (await allIds(client, 'timeline', `s${i}`)).sort(),
          [...stored].sort(),
          `timeline:s${i}`,
        )
      }
    } finally {
      await client.close()
    }
  })

  it('keeps every group-committed add acknowledged before a SIGKILL, with its fan-out', async () => {
    const { ids, client } = await killAfterAcks('grouped', 'g', 50, '8', 200)
    try {
      const stored = await allIds(client, 'user', 'star')
      for (const id of ids) assert.ok(stored.includes(id), `acknowledged ${id} lost`)
      // Every stored add, acknowledged or not yet, reached the followers once.
      for (const follower of ['g0', 'g49'])
        assert.deepEqual(await allIds(client, 'timeline', follower), stored, follower)
    } finally {
      await client.close()
    }
  })

  it('loses no update when two processes write to one notification feed at once', async () => {
    const db = tempDb()
    const init = connect({
      store: `sqlite:${db}`,
      feedGroups: { shared: { type: 'notification', aggregationFormat: '{{ verb }}' } },
    })
    await init.close()
    const a = child('writer', db, 'a', '150')
    const b = child('writer', db, 'b', '150')
    await Promise.all([waitFor(a.lines, 'DONE'), waitFor(b.lines, 'DONE')])
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
    const client = connect({
      store: `sqlite:${db}`,
      feedGroups: { shared: { type: 'notification', aggregationFormat: '{{ verb }}' } },
    })
    try {
      const page = (await client.feed('shared', 'inbox').get()) as NotificationFeedResponse
      assert.equal(page.results.length, 1)
      assert.equal(page.results[0].activity_count, 300)
      assert.equal(page.results[0].actor_count, 6)
      assert.equal(page.unseen, 1)
    } finally {
      await client.close()
    }
  })
})
