/**
 * The API secret never reaches a terminal or a log: `eddy serve` (a real process) prints the key
 * and where the secret is kept, never the secret itself: generated or given, memory or SQLite,
 * with request logging on, and when its keys file is damaged.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import stream from 'getstream'
import { must } from '../helpers.js'

const CLI = new URL('../../src/cli/eddy.ts', import.meta.url).pathname
const NODE_ARGS = ['--conditions=eddy-source', '--import', 'tsx', CLI]

/** A running `eddy serve`, with everything it wrote to stdout and stderr so far. */
interface Served {
  child: ChildProcess
  output: () => string
  url: string
  keysFile?: string
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = { ...process.env }
  delete clean.EDDY_API_KEY
  delete clean.EDDY_API_SECRET
  return spawn(process.execPath, [...NODE_ARGS, 'serve', '--port', '0', ...args], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Collects what `child` writes to stdout and stderr. */
function collect(child: ChildProcess): () => string {
  let text = ''
  must(child.stdout, 'the child stdout').on('data', (chunk) => {
    text += chunk
  })
  must(child.stderr, 'the child stderr').on('data', (chunk) => {
    text += chunk
  })
  return () => text
}

/** Starts `eddy serve` and resolves once it printed its connect line. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = start(args, env)
  const output = collect(child)
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/^connect:.*$/m.test(output())) resolve()
    }
    must(child.stdout, 'the child stdout').on('data', check)
    child.once('exit', () => reject(new Error(`eddy exited early: ${output()}`)))
  })
  const text = output()
  const url = must(/urlOverride: \{ api: '([^']+)' \}/.exec(text), 'the connect line')[1]
  const keysFile = /^api secret: the apiSecret in (.+)$/m.exec(text)?.[1]
  return { child, output, url, keysFile }
}

async function stop(served: Served): Promise<void> {
  served.child.kill('SIGTERM')
  const [code] = await once(served.child, 'close')
  assert.equal(code, 0)
}

describe('eddy serve keeps the API secret out of its output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-secret-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('with --store memory: generated keys go to a private temporary file, removed on exit', async () => {
    const served = await serve(['--store', 'memory'])
    assert.ok(served.keysFile, served.output())
    assert.equal(statSync(served.keysFile).mode & 0o777, 0o600)
    const { apiKey, apiSecret } = JSON.parse(readFileSync(served.keysFile, 'utf8'))
    assert.ok(apiSecret.length >= 32)
    assert.match(served.output(), new RegExp(`api key: ${apiKey}`))
    // The secret from the file works, and the output never shows it.
    const api = stream.connect(apiKey, apiSecret, 'app', { urlOverride: { api: served.url } })
    await api.feed('user', 'x').addActivity({ actor: 'x', verb: 'v', object: 'o' })
    await stop(served)
    assert.equal(served.output().includes(apiSecret), false, served.output())
    assert.equal(existsSync(dirname(served.keysFile)), false)
  })

  it('with SQLite: generated keys stay beside the data; a given secret is not echoed, even when logging', async () => {
    const store = `sqlite:${join(dir, 'feeds.sqlite')}`
    const first = await serve(['--store', store])
    assert.equal(first.keysFile, join(dir, 'eddy-keys.json'))
    await stop(first)
    const saved = JSON.parse(readFileSync(join(dir, 'eddy-keys.json'), 'utf8'))
    assert.equal(first.output().includes(saved.apiSecret), false)

    const secret = 'given-secret-0123456789abcdef'
    const logged = await serve(['--store', store, '--log'], { EDDY_API_KEY: 'k1', EDDY_API_SECRET: secret })
    assert.match(logged.output(), /^api secret: the secret you gave$/m)
    const api = stream.connect('k1', secret, 'app', { urlOverride: { api: logged.url } })
    await api.feed('user', 'y').addActivity({ actor: 'y', verb: 'v', object: 'o' })
    await api.feed('user', 'y').get()
    await assert.rejects(api.feed('nope', 'y').get())
    await stop(logged)
    assert.match(logged.output(), /"url":"\/api\/v1\.0\/feed\/user\/y\//) // it did log the requests
    assert.equal(logged.output().includes(secret), false, logged.output())
  })

  it('names a damaged keys file without quoting it', async () => {
    const damaged = mkdtempSync(join(tmpdir(), 'eddy-secret-bad-'))
    try {
      const secret = 'damaged-secret-0123456789'
      writeFileSync(join(damaged, 'eddy-keys.json'), `{"apiKey": "k", "apiSecret": ${secret}}`)
      const child = start(['--store', `sqlite:${join(damaged, 'feeds.sqlite')}`])
      const output = collect(child)
      const [code] = await once(child, 'close')
      const text = output()
      assert.equal(code, 2)
      assert.match(text, /cannot read the keys file .*eddy-keys\.json/)
      assert.equal(text.includes(secret), false, text)
    } finally {
      rmSync(damaged, { recursive: true, force: true })
    }
  })
})
