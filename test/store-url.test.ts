/**
 * Store locations as people write them (issue 19, item 2): `sqlite://feeds.db` used to open
 * `/feeds.db`, and `eddy serve` put its keys in `/` too. Each form a user is likely to write opens
 * the file they mean, the rest are refused with the forms that work, and nothing lands outside the
 * directory the user named: checked through connect() and `eddy serve` in a scratch working directory.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { connect, EddyError } from 'eddy'
import { parseStoreSpec } from '../src/client/store-spec.js'

const run = promisify(execFile)
const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
const INDEX = new URL('../src/index.ts', import.meta.url).href
const NODE_ARGS = ['--conditions=eddy-source', '--import', import.meta.resolve('tsx')]
const scratch = mkdtempSync(join(tmpdir(), 'eddy-store-url-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

/** A fresh working directory and a file name nobody else uses (so `/<name>` says where a file went). */
function place(): { cwd: string; name: string } {
  const cwd = join(scratch, randomBytes(4).toString('hex'))
  mkdirSync(cwd)
  return { cwd, name: `eddy-url-${randomBytes(6).toString('hex')}.db` }
}

/** Runs connect({ store }) with one add in a child whose working directory is `cwd`. */
async function addIn(cwd: string, store: string): Promise<string> {
  const script = `import { connect } from ${JSON.stringify(INDEX)}
const client = connect({ store: ${JSON.stringify(store)} })
await client.feed('user', 'u').addActivity({ actor: 'u', verb: 'post', object: 'o' })
console.log((await client.feed('user', 'u').get()).results.length)
await client.close()`
  const { stdout } = await run(process.execPath, [...NODE_ARGS, '--input-type=module', '-e', script], { cwd })
  return stdout.trim()
}

describe('store locations', () => {
  it('reads each SQLite form as the file its writer means', () => {
    const cwd = '/srv/app'
    const cases: Record<string, string> = {
      'sqlite:feeds.db': '/srv/app/feeds.db',
      'sqlite:./data/feeds.db': '/srv/app/data/feeds.db',
      'sqlite:../feeds.db': '/srv/feeds.db',
      'sqlite:/abs/feeds.db': '/abs/feeds.db',
      'sqlite://feeds.db': '/srv/app/feeds.db',
      'sqlite://./feeds.db': '/srv/app/feeds.db',
      'sqlite://data/feeds.db': '/srv/app/data/feeds.db',
      'sqlite:///abs/feeds.db': '/abs/feeds.db',
      'sqlite:////abs/feeds.db': '/abs/feeds.db',
      'sqlite://localhost/abs/feeds.db': '/abs/feeds.db',
      'sqlite:~/feeds.db': join(homedir(), 'feeds.db'),
      'file:feeds.db': '/srv/app/feeds.db',
      'file:./feeds.db': '/srv/app/feeds.db',
      'file:///abs/my%20feeds.db': '/abs/my feeds.db',
      'SQLite:feeds.db': '/srv/app/feeds.db',
      'sqlite::memory:': ':memory:',
      'sqlite://:memory:': ':memory:',
    }
    for (const [spec, path] of Object.entries(cases)) {
      assert.deepEqual(parseStoreSpec(spec, cwd), { kind: 'sqlite', path }, spec)
    }
    assert.deepEqual(parseStoreSpec('memory', cwd), { kind: 'memory' })
    assert.deepEqual(parseStoreSpec('postgresql://u@h/db', cwd), {
      kind: 'postgres',
      url: 'postgresql://u@h/db',
    })
  })

  it('refuses the rest, naming what is wrong and listing the forms that work', () => {
    const cases: Record<string, RegExp> = {
      'feeds.db': /needs its scheme, e\.g\. 'sqlite:feeds\.db'/,
      './feeds.db': /needs its scheme/,
      'sqlite:': /no SQLite file/,
      'sqlite://': /no SQLite file/,
      'sqlite:data/': /a directory/,
      'sqlite:feeds.db?mode=ro': /URI parameters are not read/,
      'file:feeds.db?cache=shared': /URI parameters are not read/,
      'sqlite3:feeds.db': /spelt 'sqlite:'/,
      ':memory:': /needs its scheme/,
      'redis://h:6379': /`timelines` option/,
      'mysql://u:secret@h/db': /a scheme Eddy does not know/,
      '': /empty/,
    }
    for (const [spec, why] of Object.entries(cases)) {
      assert.throws(
        () => connect({ store: spec }),
        (error: unknown) => {
          assert.ok(error instanceof EddyError, spec)
          assert.equal(error.exception, 'InputException')
          assert.match(error.detail, why, spec)
          assert.match(
            error.detail,
            /'sqlite:feeds\.db'.*'sqlite:\/\/\/abs\/path\/feeds\.db'.*'postgres:\/\//,
            spec,
          )
          assert.doesNotMatch(error.detail, /secret/, 'credentials are hidden')
          return true
        },
      )
    }
  })

  for (const form of ['sqlite://NAME', 'sqlite://./NAME', 'sqlite:NAME', 'file:NAME', 'file://NAME']) {
    it(`connect({ store: '${form}' }) writes into the working directory, never /`, async () => {
      const { cwd, name } = place()
      assert.equal(await addIn(cwd, form.replace('NAME', name)), '1')
      assert.ok(existsSync(join(cwd, name)), `${name} in the working directory`)
      assert.equal(existsSync(join('/', name)), false, `no /${name}`)
    })
  }

  it("connect({ store: 'sqlite:///<absolute>' }) writes the absolute path", async () => {
    const { cwd, name } = place()
    const elsewhere = join(scratch, 'abs')
    mkdirSync(elsewhere)
    assert.equal(await addIn(cwd, `sqlite://${join(elsewhere, name)}`), '1')
    assert.ok(existsSync(join(elsewhere, name)))
    assert.deepEqual(readdirSync(cwd), [], 'nothing in the working directory')
  })
})

describe('eddy serve --store', () => {
  /** Starts `eddy serve --store <store>` in `cwd` and returns what it printed up to the connect line. */
  async function serveIn(cwd: string, store: string): Promise<string> {
    const child = spawn(process.execPath, [...NODE_ARGS, CLI, 'serve', '--port', '0', '--store', store], {
      cwd,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDDY_API_'))),
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    const lines: string[] = []
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line)
      if (line.startsWith('connect:')) break
    }
    child.kill('SIGTERM')
    await exited
    return lines.join('\n')
  }

  it('sqlite://x.db keeps the database and its keys in the working directory', async () => {
    const { cwd, name } = place()
    const out = await serveIn(cwd, `sqlite://${name}`)
    assert.match(out, new RegExp(`on sqlite:${join(cwd, name)}`))
    assert.ok(existsSync(join(cwd, name)))
    assert.ok(existsSync(join(cwd, 'eddy-keys.json')), out)
    assert.equal(existsSync(join('/', name)), false)
  })

  it('sqlite::memory: keeps its generated keys out of the working directory', async () => {
    const { cwd } = place()
    const out = await serveIn(cwd, 'sqlite::memory:')
    assert.match(out, /api secret: the apiSecret in /)
    assert.deepEqual(readdirSync(cwd), [])
  })

  it('refuses a bare path with the forms that work', async () => {
    const { cwd, name } = place()
    await assert.rejects(
      run(process.execPath, [...NODE_ARGS, CLI, 'serve', '--port', '0', '--store', name], { cwd }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2)
        assert.match(error.stderr, new RegExp(`--store: a path needs its scheme, e\\.g\\. 'sqlite:${name}'`))
        return true
      },
    )
    assert.deepEqual(readdirSync(cwd), [])
  })
})
