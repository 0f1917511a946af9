/**
 * The token check of a user's standing (engine/user-standing.ts), on a real SQLite store whose
 * document reads are counted: it runs on every request made with a user token, so an engine
 * trusts a user it found active for a few seconds instead of reading the store each time, and
 * every deactivation is heard at once by every engine on the event bus (as servers sharing the
 * Redis transport hear it), so trusting never lets a deactivated user's token through.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, it } from 'node:test'
import { FeedEvents, type FeedMessage } from '../src/engine/events.js'
import { UserStanding } from '../src/engine/user-standing.js'
import { openSqliteStore } from '../src/store/sqlite/index.js'
import type { DocumentStore } from '../src/store/store.js'

const dir = mkdtempSync(join(tmpdir(), 'eddy-standing-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe("a user's standing as token checks see it", () => {
  let reads: number
  /** Runs once inside the next deactivation-document read, after the read and before its answer. */
  let duringRead: (() => Promise<void>) | undefined
  let documents: DocumentStore
  let a: UserStanding
  let b: UserStanding
  let n = 0

  beforeEach(() => {
    documents = openSqliteStore(join(dir, `standing-${n++}.sqlite`)).documents
    const getDocs = documents.getDocs.bind(documents)
    reads = 0
    documents.getDocs = async (kind, ids) => {
      if (kind === 'user_deactivated') reads++
      const docs = await getDocs(kind, ids)
      const run = duringRead
      duringRead = undefined
      await run?.()
      return docs
    }
    // Two engines whose buses are joined as the Redis transport joins servers' buses.
    const buses = [new FeedEvents(), new FeedEvents()]
    for (const bus of buses)
      bus.transport = {
        publish: (message: FeedMessage) => {
          for (const each of buses) each.deliver(message)
        },
      }
    const existing = async (ids: string[]) => new Set(ids)
    a = new UserStanding({ documents, existing, events: buses[0] })
    b = new UserStanding({ documents, existing, events: buses[1] })
  })

  it('reads the store once for many requests of an active user', async () => {
    for (let i = 0; i < 5; i++) await a.requireActive('ann')
    assert.equal(reads, 1)
  })

  it('refuses at once a user deactivated on this engine, though it trusted the user', async () => {
    await a.requireActive('ann')
    await a.deactivate(['ann'])
    await assert.rejects(a.requireActive('ann'), /user ann is deactivated/)
  })

  it('refuses at once on another engine a user deactivated on this one (the bus tells it)', async () => {
    await b.requireActive('ann')
    await a.deactivate(['ann'])
    await assert.rejects(b.requireActive('ann'), /user ann is deactivated/)
    await a.reactivate(['ann'])
    await b.requireActive('ann')
  })

  it('tells the edges of every engine on the bus whom a deactivation names, until they stop listening', async () => {
    const heard: string[] = []
    const stop = b.onDeactivated((ids) => heard.push(...ids))
    await a.deactivate(['ann', 'bo'])
    assert.deepEqual(heard, ['ann', 'bo'])
    stop()
    await a.deactivate(['cy'])
    assert.deepEqual(heard, ['ann', 'bo'])
  })

  it('does not trust a user whose deactivation was heard while its check was reading', async () => {
    duringRead = async () => {
      await a.deactivate(['ann'])
    }
    // This check read before the deactivation committed: it lets that one request through...
    await b.requireActive('ann')
    // ...but does not remember the user as active.
    await assert.rejects(b.requireActive('ann'), /user ann is deactivated/)
  })
})
