/**
 * Ports (issue 19, item 3): `npm start` with 3000 taken printed a raw EADDRINUSE stack and did not
 * mention PORT; examples/react-feed hard-coded 3000 and 8000 (Chirp's and `eddy serve`'s). Each
 * example now takes its port from a variable, falls back to a free port when its default is taken,
 * and names the variable (or `eddy serve`'s flag) when a chosen port is taken. The taken ports here
 * are free ones this test occupies, never the defaults themselves.
 */
import assert from 'node:assert/strict'
import { execFile as execFileCb, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { listen, PortInUseError } from '../examples/listen.js'

const execFile = promisify(execFileCb)
const NODE = ['--conditions=eddy-source', '--import', import.meta.resolve('tsx')]
const file = (path: string) => new URL(`../${path}`, import.meta.url).pathname

let blocker: Server
let taken: number
const dir = mkdtempSync(join(tmpdir(), 'eddy-ports-'))

before(async () => {
  blocker = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => blocker.once('listening', resolve))
  taken = (blocker.address() as AddressInfo).port
})
after(() => {
  blocker.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs a script that should refuse to start; resolves with its exit code and stderr. */
async function refused(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  try {
    await execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 120_000 })
  } catch (error) {
    const e = error as { code: number; stderr: string }
    return { code: e.code, stderr: e.stderr }
  }
  assert.fail(`${args.at(-1)} started on a taken port`)
}

/** No stack trace and no bare errno: one line a newcomer can act on. */
function assertOneClearLine(stderr: string, names: RegExp): void {
  assert.match(stderr, names)
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace')
  assert.doesNotMatch(stderr, /EADDRINUSE/)
}

describe('example ports', () => {
  it('the helper falls back to a free port when the default is taken, and says which variable chooses', async () => {
    const app = Fastify()
    const said: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string) => said.push(String(chunk)) > 0) as typeof write
    try {
      const address = await listen(app, {
        name: 'Demo',
        variable: 'PORT',
        defaultPort: taken,
        host: '127.0.0.1',
        env: {},
      })
      assert.notEqual(new URL(address).port, String(taken))
    } finally {
      process.stderr.write = write
      await app.close()
    }
    assert.match(said.join(''), new RegExp(`Demo: port ${taken} is in use, .*set PORT to choose one`))
  })

  it('the helper refuses a chosen port that is taken, naming the variable', async () => {
    const app = Fastify()
    await assert.rejects(
      listen(app, {
        name: 'Demo',
        variable: 'PORT',
        defaultPort: 3000,
        host: '127.0.0.1',
        env: { PORT: String(taken) },
      }),
      (error: unknown) =>
        error instanceof PortInUseError &&
        new RegExp(`port ${taken} is in use; set PORT to another port`).test(error.message),
    )
    await assert.rejects(
      listen(app, {
        name: 'Demo',
        variable: 'PORT',
        defaultPort: 3000,
        host: '127.0.0.1',
        env: { PORT: 'abc' },
      }),
      /PORT must be a port from 0 to 65535, got abc/,
    )
    await app.close()
  })

  it('npm start (Chirp) with PORT taken says so in one line naming PORT', async () => {
    const { code, stderr } = await refused([...NODE, file('examples/chirp/main.ts')], {
      PORT: String(taken),
      CHIRP_DATA: join(dir, 'chirp'),
    })
    assert.equal(code, 1)
    assertOneClearLine(stderr, new RegExp(`Chirp: port ${taken} is in use; set PORT to another port`))
  })

  it('examples/react-feed takes PORT and API_PORT, and names them when taken', async () => {
    const { code, stderr } = await refused([...NODE, file('examples/react-feed/server.ts')], {
      PORT: '0',
      API_PORT: String(taken),
    })
    assert.equal(code, 1)
    assertOneClearLine(stderr, new RegExp(`react-feed API: port ${taken} is in use; set API_PORT`))
    const child = spawn(process.execPath, [...NODE, file('examples/react-feed/server.ts')], {
      env: { ...process.env, PORT: '0', API_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        assert.match(
          line,
          /^open http:\/\/127\.0\.0\.1:\d+\/\?user=alice .*\(API http:\/\/127\.0\.0\.1:\d+\)$/,
        )
        break
      }
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  })

  it('eddy serve on a taken port names --port', async () => {
    const { code, stderr } = await refused(
      [...NODE, file('src/cli/eddy.ts'), 'serve', '--store', 'memory', '--port', String(taken)],
      {},
    )
    assert.equal(code, 2)
    assertOneClearLine(
      stderr,
      new RegExp(`--port ${taken}: the port is taken .*pick another with --port <n>`),
    )
  })
})
