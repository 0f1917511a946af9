/**
 * What a newcomer meets first: option typos, bad SQLite paths and closed clients are EddyErrors
 * that say what to do; importing Eddy loads no native module; getstream's argument spellings run.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { connect, EddyError } from 'eddy'

const dir = mkdtempSync(join(tmpdir(), 'eddy-newcomer-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function isInputError(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof EddyError, `an EddyError, got ${String(error)}`)
    assert.equal(error.exception, 'InputException')
    assert.equal(error.status_code, 400)
    assert.match(error.detail, pattern)
    return true
  }
}

describe('connect() options', () => {
  it('rejects an unknown option, naming it and listing the known ones, before opening anything', () => {
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      assert.throws(
        () => connect({ stor: 'memory' } as never),
        isInputError(/no option "stor"; the options are store, timelines, .*feedGroups, fanoutChunkSize/),
      )
      assert.equal(existsSync(join(dir, 'eddy.sqlite')), false)
    } finally {
      process.chdir(cwd)
    }
  })
})

describe('SQLite paths', () => {
  it('explains a missing directory instead of a TypeError', () => {
    assert.throws(
      () => connect({ store: 'sqlite:/missing/dir/x.db' }),
      isInputError(/directory \/missing\/dir does not exist; create it first/),
    )
  })

  it('explains a file that cannot be opened', () => {
    assert.throws(() => connect({ store: `sqlite:${dir}` }), isInputError(/cannot open the SQLite file/))
  })
})

describe('a closed client', () => {
  for (const store of ['memory', `sqlite:${join(dir, 'closed.sqlite')}`]) {
    it(`refuses reads and writes on ${store.split(':')[0]} with an EddyError`, async () => {
      const client = connect({ store })
      await client.feed('user', '1').addActivity({ actor: '1', verb: 'post', object: 'p:1' })
      await client.close()
      const closed = isInputError(/is closed \(close\(\) was called on it or on its client\); open a new one/)
      await assert.rejects(client.feed('user', '1').get(), closed)
      await assert.rejects(
        client.feed('user', '1').addActivity({ actor: '1', verb: 'post', object: 'p:2' }),
        closed,
      )
      await assert.rejects(client.feed('timeline', '1').follow('user', '1'), closed)
      await assert.rejects(client.feed('user', '1').followers(), closed)
      await client.close() // closing twice is fine
    })
  }
})

describe('importing eddy', () => {
  it('loads no native module until a SQLite store is opened', () => {
    const script = `
      const loaded = []
      const dlopen = process.dlopen
      process.dlopen = function (module, file, ...rest) { loaded.push(file); return dlopen.call(this, module, file, ...rest) }
      const { connect } = await import('eddy')
      const before = loaded.length
      await connect({ store: 'memory' }).close()
      const memory = loaded.length
      await connect({ store: 'sqlite::memory:' }).close()
      console.log(JSON.stringify({ before, memory, sqlite: loaded.filter((f) => f.includes('better_sqlite3')).length }))`
    const out = execFileSync(
      process.execPath,
      ['--conditions=eddy-source', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' },
    )
    assert.deepEqual(JSON.parse(out), { before: 0, memory: 0, sqlite: 1 })
  })
})

describe("getstream's argument spellings", () => {
  it('finds activities by foreignIDTimes spelt foreign_id, foreignID or foreignId', async () => {
    const client = connect({ store: 'memory' })
    const time = '2026-01-02T03:04:05.000000'
    const stored = await client
      .feed('user', '1')
      .addActivity({ actor: '1', verb: 'post', object: 'p:1', foreign_id: 'post:1', time })
    for (const pair of [
      { foreign_id: 'post:1', time },
      { foreignID: 'post:1', time: new Date(`${time.slice(0, 23)}Z`) },
      { foreignId: 'post:1', time },
    ]) {
      const { results } = await client.getActivities({ foreignIDTimes: [pair] })
      assert.deepEqual(
        results.map((a) => a.id),
        [stored.id],
        JSON.stringify(pair),
      )
    }
    const updated = await client.activityPartialUpdate({ foreignID: 'post:1', time, set: { text: 'hi' } })
    assert.equal(updated.text, 'hi')
    const [again] = (await client.activitiesPartialUpdate([{ foreignID: 'post:1', time, unset: ['text'] }]))
      .activities
    assert.equal(again.text, undefined)
    await client.close()
  })

  it("honours each follow's own activity_copy_limit in followMany", async () => {
    const client = connect({ store: 'memory' })
    for (let i = 0; i < 3; i++) {
      await client.feed('user', 'a').addActivity({ actor: 'a', verb: 'post', object: `p:${i}` })
    }
    await client.followMany(
      [
        { source: 'timeline:1', target: 'user:a', activity_copy_limit: 1 },
        { source: 'timeline:2', target: 'user:a' },
      ],
      2,
    )
    assert.equal((await client.feed('timeline', '1').get()).results.length, 1)
    assert.equal((await client.feed('timeline', '2').get()).results.length, 2)
    await client.close()
  })

  it('accepts and ignores the token argument of feed()', async () => {
    const client = connect({ store: 'memory' })
    assert.equal(client.feed('user', '1', 'token').id, 'user:1')
    await client.close()
  })
})
