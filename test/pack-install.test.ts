/**
 * Eddy as a newcomer's project gets it: `npm pack`, install the tarball into a scratch project,
 * then import it from plain ESM, CommonJS and TypeScript (node16, nodenext, bundler; strict, with
 * the published declarations checked: skipLibCheck false), and run `npx eddy serve`.
 *
 * To stay quick the install prefers npm's cache and skips install scripts; better-sqlite3's native
 * module is copied from this repository's build (same version) instead of being compiled again.
 */
import assert from 'node:assert/strict'
import { execFile as execFileCb, spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { must } from './helpers.js'

const execFile = promisify(execFileCb)
const root = new URL('..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
/** Every subpath but the manifest: `.`, `./server`, `./typeorm`, ... */
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json')
const specifiers = subpaths.map((p) => (p === '.' ? 'eddy' : `eddy/${p.slice(2)}`))
/** Packages a consumer brings for the integrations they use (optional peers and their types), and Node's types. */
const peers = Object.keys(pkg.peerDependencies ?? {})
const consumerTypes = [...peers, ...peers.map((p) => `@types/${p}`), '@types/node', 'reflect-metadata']

/**
 * Subpaths whose peer library's own declarations fail under `skipLibCheck: false` (so every user
 * of that library needs `skipLibCheck: true` anyway): checked with it on, the rest with it off.
 */
const LOOSE: Record<string, string> = {
  'eddy/drizzle': "drizzle-orm's declarations import the optional 'gel' package and have errors of their own",
}

/** A consumer's program: every given subpath imported, and typed reads used as a newcomer would. */
function typedProgram(imported: string[]): string {
  const imports = imported.map((s, i) => `import * as m${i} from ${JSON.stringify(s)}`).join('\n')
  return `${imports}
import { connect, EddyError, type FlatFeedResponse, type NotificationFeedResponse } from 'eddy'
import { createServer } from 'eddy/server'

const groups = { photos: { type: 'aggregated' } } as const
const client = connect<{ text: string }, typeof groups>({ store: 'memory', feedGroups: groups })
export const flat: Promise<FlatFeedResponse<import('eddy').Activity & { text: string }>> = client.feed('user', '1').get()
export const unseen: Promise<number> = client.feed('notification', '1').get().then((r) => r.unseen)
export const notification: Promise<NotificationFeedResponse<import('eddy').ActivityOf<{ text: string }>>> =
  client.feed('notification', '1').get()
export const photos = client.feed('photos', '1').get().then((r) => r.results[0].activities[0].text.toUpperCase())
// @ts-expect-error an unknown feed group
client.feed('nope', '1')
export const server = createServer({ store: 'memory', apiKey: 'key', apiSecret: 'secret' })
export const isError = (e: unknown): boolean => e instanceof EddyError
export const modules = [${imported.map((_, i) => `m${i}`).join(', ')}]
`
}

/** Whether this Node is one `engines` names (a major at or above the `>=` bound). */
const supported =
  Number(process.versions.node.split('.')[0]) >= Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1])

let scratch: string
let work: string
let tarball: string

async function run(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFile(file, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${file} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`,
    )
  }
}

function write(path: string, content: unknown): void {
  writeFileSync(
    join(scratch, path),
    typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`,
  )
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'eddy-pack-'))
  scratch = join(work, 'app')
  mkdirSync(scratch)
  // `npm pack` runs `prepare`, which builds dist/ from a clean slate.
  const [packed] = JSON.parse(await run(npm, ['pack', '--json', '--pack-destination', work], root))
  tarball = join(work, packed.filename)
  write('package.json', { name: 'scratch-app', version: '1.0.0', private: true, type: 'module' })
  // On a Node that `engines` names, any engine mismatch in Eddy's dependency tree fails the install.
  await run(
    npm,
    [
      'install',
      tarball,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...(supported ? ['--engine-strict'] : []),
    ],
    scratch,
  )
  const ours = join(root, 'node_modules', 'better-sqlite3')
  const theirs = join(scratch, 'node_modules', 'better-sqlite3')
  const version = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
  if (version(ours) === version(theirs)) {
    mkdirSync(join(theirs, 'build', 'Release'), { recursive: true })
    copyFileSync(
      join(ours, 'build', 'Release', 'better_sqlite3.node'),
      join(theirs, 'build', 'Release', 'better_sqlite3.node'),
    )
  } else {
    rmSync(theirs, { recursive: true, force: true })
    symlinkSync(ours, theirs, 'dir')
  }
  for (const name of consumerTypes) {
    const from = join(root, 'node_modules', name)
    const to = join(scratch, 'node_modules', name)
    if (!existsSync(from) || existsSync(to)) continue
    mkdirSync(join(to, '..'), { recursive: true })
    symlinkSync(from, to, 'dir')
  }
})

after(() => rmSync(work, { recursive: true, force: true }))

describe('the packed package', () => {
  it('supports the maintained Node LTS lines, and installs on them with no engine warning', (t) => {
    // engines is `>=<major>` with the oldest maintained LTS line; the install above used
    // --engine-strict when this Node is supported, so a dependency's engine mismatch failed it.
    assert.equal(pkg.engines.node, '>=22')
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    assert.match(readme, /\*\*Node 22 or 24\*\*, the maintained LTS lines \(`engines`: `>=22`\)/)
    if (!supported)
      t.diagnostic(`Node ${process.version} is not in engines: installed without --engine-strict`)
  })

  it('ships dist only: declarations and JavaScript, no sources, maps or tests', async () => {
    const files = (await run('tar', ['-tzf', tarball], work)).split('\n')
    assert.ok(files.includes('package/dist/index.js'))
    assert.ok(files.includes('package/dist/index.d.ts'))
    assert.ok(files.includes('package/dist/cli/eddy.js'))
    assert.deepEqual(
      files.filter((f) => /\.map$|\.test\.|^package\/(src|test|examples|bench)\//.test(f)),
      [],
    )
    const declarations = files.filter((f) => f.endsWith('.d.ts'))
    for (const file of declarations) {
      const text = readFileSync(join(scratch, 'node_modules', 'eddy', file.slice('package/'.length)), 'utf8')
      assert.doesNotMatch(
        text,
        /(from|import\(|types=)\s*['"]better-sqlite3['"]/,
        `${file} must not need @types/better-sqlite3`,
      )
    }
  })

  it('imports every subpath from a plain ESM script', async () => {
    const script = specifiers
      .map(
        (s, i) =>
          `const m${i} = await import(${JSON.stringify(s)}); if (!Object.keys(m${i}).length) throw new Error(${JSON.stringify(s)})`,
      )
      .join('\n')
    write(
      'esm.mjs',
      `${script}
import { connect } from 'eddy'
const client = connect({ store: 'sqlite::memory:' })
await client.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: 'post:1' })
const { results } = await client.feed('user', 'alice').get()
await client.close()
console.log(results.length)`,
    )
    assert.equal((await run(process.execPath, ['esm.mjs'], scratch)).trim(), '1')
  })

  it('requires eddy and eddy/server from CommonJS', async () => {
    write(
      'cjs.cjs',
      `const { connect, EddyError } = require('eddy')
const { createServer } = require('eddy/server')
if (typeof connect !== 'function' || typeof createServer !== 'function' || typeof EddyError !== 'function') throw new Error('exports')
for (const s of ${JSON.stringify(specifiers)}) require(s)
console.log('ok')`,
    )
    assert.equal((await run(process.execPath, ['--no-warnings', 'cjs.cjs'], scratch)).trim(), 'ok')
  })

  describe('TypeScript', { concurrency: 3 }, () => {
    for (const [module, moduleResolution] of [
      ['node16', 'node16'],
      ['nodenext', 'nodenext'],
      ['esnext', 'bundler'],
    ]) {
      it(`type-checks against the declarations with module ${module}, moduleResolution ${moduleResolution}`, async () => {
        const strict = specifiers.filter((s) => !(s in LOOSE))
        const loose = specifiers.filter((s) => s in LOOSE)
        write(`typed-${moduleResolution}.ts`, typedProgram(strict))
        write(
          `loose-${moduleResolution}.ts`,
          loose.map((s, i) => `export * as m${i} from ${JSON.stringify(s)}`).join('\n'),
        )
        const config = (file: string, skipLibCheck: boolean) => ({
          compilerOptions: {
            module,
            moduleResolution,
            target: 'ES2022',
            strict: true,
            skipLibCheck,
            noEmit: true,
            types: ['node'],
            experimentalDecorators: true,
          },
          files: [file],
        })
        write(`tsconfig.${moduleResolution}.json`, config(`typed-${moduleResolution}.ts`, false))
        write(`tsconfig.${moduleResolution}-loose.json`, config(`loose-${moduleResolution}.ts`, true))
        await run(process.execPath, [tsc, '-p', `tsconfig.${moduleResolution}.json`], scratch)
        if (loose.length > 0)
          await run(process.execPath, [tsc, '-p', `tsconfig.${moduleResolution}-loose.json`], scratch)
      })
    }
  })

  it('prints its version with `npx eddy --version`', async () => {
    const out = await run(npm, ['exec', '--offline', '--', 'eddy', '--version'], scratch)
    assert.equal(out.trim(), pkg.version)
  })

  it('runs `npx eddy serve` and answers /health', async () => {
    // Its own process group, so stopping it stops npx and the server it started.
    const child = spawn(
      npm,
      ['exec', '--offline', '--', 'eddy', 'serve', '--store', 'memory', '--port', '0'],
      {
        cwd: scratch,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    )
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      let output = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          output += chunk
          const match = /eddy serving (http:\/\/\S+?)\/api\//.exec(output)
          if (match) resolve(match[1])
        })
        child.stderr.on('data', (chunk) => {
          output += chunk
        })
        child.on('exit', (code) => reject(new Error(`eddy serve exited with ${code}: ${output}`)))
      })
      const response = await fetch(`${url}/health`)
      assert.equal(response.status, 200)
      assert.equal(((await response.json()) as { status: string }).status, 'ok')
    } finally {
      process.kill(-must(child.pid, 'the eddy serve pid'), 'SIGTERM')
      await exited
    }
  })
})
