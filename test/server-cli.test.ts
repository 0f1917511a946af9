/** The `eddy` command: help, flag errors, and `serve` answering the official client, then exiting on SIGTERM. */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import stream from 'getstream'
import { must } from './helpers.js'

const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
const NODE_ARGS = ['--conditions=eddy-source', '--import', 'tsx', CLI]
const run = promisify(execFile)

/** Starts `eddy serve` and resolves with the process and the lines it printed up to the connect example. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', '--port', '0', ...args], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line)
    if (line.startsWith('connect:')) break
  }
  return { child, lines }
}

describe('eddy command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cli-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('prints help and rejects unknown flags', async () => {
    const { stdout } = await run(process.execPath, [...NODE_ARGS, '--help'])
    assert.match(stdout, /eddy serve/)
    await assert.rejects(
      run(process.execPath, [...NODE_ARGS, 'serve', '--bogus']),
      (e: { code: number }) => e.code === 2,
    )
  })

  it('serves the official client with keys from the environment and exits cleanly on SIGTERM', async () => {
    const { child, lines } = await serve(['--store', 'memory'], {
      EDDY_API_KEY: 'cli-key',
      EDDY_API_SECRET: 'cli-secret',
    })
    const url = must(/urlOverride: \{ api: '([^']+)' \}/.exec(lines.at(-1) ?? ''), 'the connect line')[1]
    assert.match(lines.join('\n'), /api key: cli-key/)
    assert.match(lines.join('\n'), /^uploads: memory, served at http:\/\/<the request's Host>\/uploads\/$/m)
    const api = stream.connect('cli-key', 'cli-secret', 'app', { urlOverride: { api: url } })
    await api.feed('user', 'cli').addActivity({ actor: 'a', verb: 'v', object: 'o' })
    assert.equal((await api.feed('user', 'cli').get()).results.length, 1)
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    assert.equal(code, 0)
  })

  it('generates keys without a dot and keeps them beside the SQLite file, and says where uploads live', async () => {
    const store = `sqlite:${join(dir, 'feeds.sqlite')}`
    const first = await serve(['--store', store])
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
    const saved = JSON.parse(readFileSync(join(dir, 'eddy-keys.json'), 'utf8'))
    assert.equal(saved.apiSecret.includes('.'), false)
    assert.match(first.lines.join('\n'), new RegExp(`api key: ${saved.apiKey}`))
    // Where uploads live is printed at startup: the directory beside the SQLite file, absolute.
    assert.ok(
      first.lines.includes(
        `uploads: dir:${join(dir, 'eddy-uploads')}, served at http://<the request's Host>/uploads/`,
      ),
      first.lines.join('\n'),
    )
    const second = await serve([
      '--store',
      store,
      '--uploads',
      's3://pics/eddy/?endpoint=http://127.0.0.1:9/',
      '--public-url',
      'https://cdn.example.test',
    ])
    assert.match(second.lines.join('\n'), new RegExp(`api key: ${saved.apiKey}`))
    assert.ok(
      second.lines.includes(
        'uploads: s3://pics/eddy/?endpoint=http://127.0.0.1:9/, served at https://cdn.example.test/uploads/',
      ),
      second.lines.join('\n'),
    )
    second.child.kill('SIGTERM')
    await once(second.child, 'exit')
  })
})
