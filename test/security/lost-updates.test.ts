/**
 * Two `eddy serve` processes on one SQLite file, 16 clients, 800 partial updates of one activity,
 * each setting its own field: every update must survive. Before updates were optimistic writes
 * checked inside the store's transaction, 250-320 of them were silently lost.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import stream from 'getstream'

const CLI = new URL('../../src/cli/eddy.ts', import.meta.url).pathname
const KEY = 'race-key'
const SECRET = 'race-secret'
const UPDATES = 800
const CLIENTS = 16

/** Starts `eddy serve` on `store` and resolves with the process and its API base URL. */
async function serve(store: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=eddy-source', '--import', 'tsx', CLI, 'serve', '--port', '0', '--store', store],
    {
      env: { ...process.env, EDDY_API_KEY: KEY, EDDY_API_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /^eddy serving (\S+)v1\.0\//.exec(line)
    if (match) return { child, url: match[1] }
  }
  throw new Error('eddy serve exited before it printed its URL')
}

describe('partial updates from two processes on one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-race-'))
  const children: ChildProcess[] = []
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it(`loses none of ${UPDATES} updates sent by ${CLIENTS} clients`, async () => {
    const store = `sqlite:${join(dir, 'feeds.sqlite')}`
    const first = await serve(store)
    children.push(first.child)
    const second = await serve(store)
    children.push(second.child)
    const api = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: first.url } })
    const token = api.createUserToken('alice')
    const post = await stream
      .connect(KEY, token, 'app', { urlOverride: { api: first.url } })
      .feed('user', 'alice')
      .addActivity({
        actor: 'SU:alice',
        verb: 'post',
        object: 'post:1',
        foreign_id: 'post:1',
        time: '2026-11-20T12:00:00',
      })

    // Half the clients on each server; user tokens and server tokens both update.
    const clients = Array.from({ length: CLIENTS }, (_, i) =>
      stream.connect(KEY, i % 4 === 0 ? SECRET : token, 'app', {
        urlOverride: { api: i % 2 === 0 ? first.url : second.url },
      }),
    )
    let next = 0
    const statuses: string[] = []
    await Promise.all(
      clients.map(async (client) => {
        while (next < UPDATES) {
          const n = next++
          try {
            await client.activityPartialUpdate({ id: post.id, set: { [`k.${n}`]: n } })
            statuses.push('ok')
          } catch (error) {
            statuses.push(String((error as { error?: { detail?: string } }).error?.detail ?? error))
          }
        }
      }),
    )
    assert.deepEqual(
      statuses.filter((s) => s !== 'ok'),
      [],
    )
    const [stored] = (await api.getActivities({ ids: [post.id] })).results as unknown as {
      k: Record<string, number>
    }[]
    const missing = Array.from({ length: UPDATES }, (_, n) => n).filter((n) => stored.k[n] !== n)
    assert.deepEqual(missing, [], `${missing.length} updates were lost`)
  })
})
