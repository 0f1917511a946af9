/**
 * Every TypeScript and JavaScript block in README.md and docs/*.md, as a reader copies it (issue 19,
 * item 5): each compiles under `strict` and `noUncheckedIndexedAccess` with the compiler settings the
 * doc itself gives (a ```json block with "compilerOptions" applies to the blocks after it in its
 * section), and those that need no outside service also run, in a scratch directory.
 *
 * A block that continues an earlier one, or stands for code the reader already has (a `pins`
 * repository, the keys of a server), gets that context from CONTEXT below; the context only declares
 * or sets up what the prose says exists, the block itself is compiled and run exactly as shown.
 */
import assert from 'node:assert/strict'
import { execFile as execFileCb } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

const execFile = promisify(execFileCb)
const root = new URL('..', import.meta.url).pathname
const tsx = import.meta.resolve('tsx')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** One fenced block: where it is, its language, its text and the compiler settings in force there. */
interface Block {
  file: string
  line: number
  lang: 'ts' | 'js'
  code: string
  settings: Record<string, unknown>
}

/** Extracts the ts/js blocks of a Markdown file with the compiler settings its json blocks give. */
function blocks(file: string): Block[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found: Block[] = []
  let settings: Record<string, unknown> = {}
  let settingsLevel = 0
  const fence = /^(#{1,6}) |^```(\w*)\n([\s\S]*?)^```$/gm
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const [, heading, lang, code = ''] = m
    if (heading) {
      if (heading.length <= settingsLevel) settings = {}
      continue
    }
    const line = text.slice(0, m.index).split('\n').length
    if (lang === 'json' && code.includes('"compilerOptions"')) {
      settings = JSON.parse(code).compilerOptions
      const headings = [...text.slice(0, m.index).matchAll(/^(#{1,6}) /gm)]
      settingsLevel = headings.at(-1)?.[1]?.length ?? 1
    } else if (lang === 'ts' || lang === 'js') {
      found.push({ file, line, lang, code, settings })
    }
  }
  return found
}

/**
 * What the prose around a block says exists: `before` is prepended (imports are hoisted, so a block's
 * own imports still work), `after` appended (closing what the block opened so the run ends); `run`
 * false for blocks that need a service that is not here (a remote PostgreSQL, a running server).
 * Keyed by the block's file and a line of it.
 */
interface Context {
  before?: string
  after?: string
  run?: false
}
const CLIENT =
  "import { connect as connectClient } from 'eddy'\nconst client = connectClient({ store: 'memory' })\n"
const SERVER_KEYS = 'declare const KEY: string\ndeclare const SECRET: string\n'
const CONTEXT: Record<string, Context> = {
  'README.md|const post = await client': { before: CLIENT, after: 'await client.close()' },
  "README.md|const subscription = client.feed('timeline', 'bob')": {
    before: CLIENT,
    after: 'await client.flush()\nawait client.close()',
  },
  'README.md|db.internal:5432/app': { run: false },
  "README.md|const server = stream.connect(KEY, SECRET, 'my-app', opts)": { before: SERVER_KEYS, run: false },
  "docs/server.md|const server = stream.connect(KEY, SECRET, 'my-app', opts)": {
    before: SERVER_KEYS,
    run: false,
  },
  "docs/server.md|const bob = stream.connect(KEY, userToken, 'my-app', opts)": {
    before: `import stream from 'getstream'\n${SERVER_KEYS}declare const userToken: string\ndeclare function render(message: unknown): void\n`,
    run: false,
  },
  "docs/server.md|createServer({ store: 'sqlite:feeds.db'": {
    after: 'await app.close()',
  },
  '|const pin = await pins.findOneOrFail': {
    before:
      "import type { Repository } from 'typeorm'\ndeclare const pins: Repository<{ id: number; author: { id: number } }>\ndeclare const id: number\n",
    run: false,
  },
  "|const { results } = await feedManager.getFeed('timeline', userId)": {
    before:
      "import { feedManager as manager } from 'eddy'\nconst userId = 42\nconst aggregated = await manager.getFeed('timeline_aggregated', userId).get()\n",
  },
  "|const liquid = createLiquid({ root: ['views'] })": { before: 'const activities: object[] = []\n' },
  "|missing_data_policy: 'fail' %}\", { activity })": {
    before:
      "import { createLiquid as create } from 'eddy/liquid'\nconst liquid = create({ root: ['views'] })\nconst activity = { verb: 'pin', enriched: false }\n",
  },
  '|const prisma = new PrismaClient({ adapter })': {
    // The generated client's type comes from the reader's schema; any stands for it here.
    before:
      'declare const PrismaClient: new (options: { adapter: unknown }) => any\ndeclare const adapter: unknown\n',
    run: false,
  },
  '|class Pin extends Model {': {
    before:
      "import { DataTypes, Model, type Sequelize } from 'sequelize'\ndeclare const sequelize: Sequelize\ndeclare class User extends Model {}\ndeclare const alice: { id: number }\n",
    run: false,
  },
  "|import * as sqliteModule from '@appthreat/sqlite3'": {
    before: "import { Sequelize } from 'sequelize'\n",
    after: 'await sequelize.close()',
  },
  "|import { Activity, trackOrm } from 'eddy/mikro-orm'": {
    before:
      "import { Entity, ManyToOne, MikroORM, type Opt, PrimaryKey, Property } from '@mikro-orm/core'\nimport { BetterSqliteDriver } from '@mikro-orm/better-sqlite'\ndeclare class User { id: number }\ndeclare const alice: User\n",
    run: false,
  },
  "|import { insert, remove, trackedDialect, trackKysely } from 'eddy/kysely'": {
    before:
      "import { Kysely, PostgresDialect } from 'kysely'\nimport pg from 'pg'\nconst pool = new pg.Pool()\ninterface DB { pins: { id: number; authorId: number; message: string }; users: { id: number } }\n",
    run: false,
  },
  "|import { insert, remove, trackTable, transaction } from 'eddy/drizzle'": {
    before:
      "import { eq } from 'drizzle-orm'\nimport { drizzle } from 'drizzle-orm/node-postgres'\nimport { integer, pgTable, serial, text } from 'drizzle-orm/pg-core'\nimport pg from 'pg'\nconst pool = new pg.Pool()\nconst users = pgTable('users', { id: serial('id').primaryKey() })\nconst pins = pgTable('pins', { id: serial('id').primaryKey(), authorId: integer('author_id').notNull(), message: text('message') })\n",
    run: false,
  },
  'docs/postgres.md|postgres://eddy:secret@db.internal:5432/app': { run: false },
  'docs/scale-out.md|import stream from': { run: false },
  'docs/scale-out.md|const worker = connect(': { run: false },
}

function contextOf(block: Block): { key?: string; context: Context } {
  for (const [key, context] of Object.entries(CONTEXT)) {
    const [file, line] = key.split('|') as [string, string]
    if ((file === '' || file === block.file) && block.code.includes(line)) return { key, context }
  }
  return { context: {} }
}

const all = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
].flatMap(blocks)
const named = (b: Block) => `${b.file}:${b.line}`

let dir: string
let scratch: string
/** Snippet file per block, and the tsconfig each was checked with. */
const files = new Map<Block, string>()
let diagnostics = ''

before(async () => {
  // Inside the repository, so `eddy` resolves to this checkout (its `eddy-source` condition).
  dir = mkdtempSync(join(root, '.eddy-snippets-'))
  scratch = mkdtempSync(join(tmpdir(), 'eddy-snippets-run-'))
  const groups = new Map<string, string[]>()
  for (const [i, block] of all.entries()) {
    const { context } = contextOf(block)
    const commonJs = block.lang === 'js' && /\brequire\(/.test(block.code)
    const name = `s${String(i).padStart(2, '0')}-${block.file.replace(/\W/g, '_')}-${block.line}.${commonJs ? 'cts' : 'ts'}`
    const body = `${context.before ?? ''}${block.code}${context.after ? `${context.after}\n` : ''}${commonJs ? '' : 'export {}\n'}`
    writeFileSync(join(dir, name), body)
    files.set(block, join(dir, name))
    const key = JSON.stringify(block.settings)
    groups.set(key, [...(groups.get(key) ?? []), name])
  }
  let n = 0
  for (const [settings, names] of groups) {
    const config = `tsconfig.${n++}.json`
    writeFileSync(
      join(dir, config),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          customConditions: ['eddy-source'],
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
          ...JSON.parse(settings),
        },
        files: names,
      }),
    )
    try {
      await execFile(process.execPath, [tsc, '-p', join(dir, config)], { cwd: dir, maxBuffer: 64 << 20 })
    } catch (error) {
      diagnostics += (error as { stdout: string }).stdout
    }
  }
})

after(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

describe('README and docs snippets', () => {
  it('finds the blocks, and every context entry still matches one', () => {
    assert.ok(all.length >= 30, `found ${all.length} blocks`)
    const used = new Set(all.map((b) => contextOf(b).key).filter(Boolean))
    assert.deepEqual(
      Object.keys(CONTEXT).filter((k) => !used.has(k)),
      [],
      'context entries whose block is gone',
    )
  })

  for (const block of all) {
    it(`${named(block)} compiles under strict and noUncheckedIndexedAccess`, () => {
      const file = files.get(block)!
      const name = file.slice(dir.length + 1)
      // Errors in Eddy's own sources (compiled here under stricter settings than its own) are not the reader's.
      const mine = diagnostics.split('\n').filter((l) => l.startsWith(name) || l.includes(`/${name}(`))
      assert.deepEqual(mine, [], `${named(block)}:\n${readFileSync(file, 'utf8')}`)
    })
    if (contextOf(block).context.run === false) continue
    it(`${named(block)} runs as shown`, async () => {
      const cwd = mkdtempSync(join(scratch, 'run-'))
      mkdirSync(join(cwd, 'views'))
      const configs = readdirSync(dir).filter((f) => f.startsWith('tsconfig.'))
      const file = files.get(block)!
      const config = configs.find((c) =>
        (JSON.parse(readFileSync(join(dir, c), 'utf8')).files as string[]).includes(
          file.slice(dir.length + 1),
        ),
      )!
      try {
        await execFile(process.execPath, ['--conditions=eddy-source', '--import', tsx, file], {
          cwd,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(dir, config) },
          timeout: 60_000,
        })
      } catch (error) {
        const e = error as { stderr?: string; message: string }
        assert.fail(`${named(block)} failed:\n${e.stderr ?? e.message}\n---\n${readFileSync(file, 'utf8')}`)
      }
    })
  }
})
