/**
 * Every README and docs block that needs no outside service runs as shown (issue 19, items 4 and 5),
 * each in its own process and scratch working directory, with the compiler settings its doc gives
 * (tsx reads them from the snippet's tsconfig). test/docs-snippets.test.ts compiles every block.
 */
import assert from 'node:assert/strict'
import { execFile as execFileCb } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { all, contextOf, named, type Snippets, textOf, writeSnippets } from './fixtures/snippets.js'
import { must } from './helpers.js'

const execFile = promisify(execFileCb)
const tsx = import.meta.resolve('tsx')
const runnable = all.filter((block) => contextOf(block).context.run !== false)

let snippets: Snippets
let scratch: string

before(() => {
  snippets = writeSnippets()
  scratch = mkdtempSync(join(tmpdir(), 'eddy-snippets-run-'))
})

after(() => {
  snippets.remove()
  rmSync(scratch, { recursive: true, force: true })
})

// Two at a time: each is mostly a Node start-up.
describe('README and docs snippets run', { concurrency: 2 }, () => {
  it('runs most of them', () => assert.ok(runnable.length >= 12, `${runnable.length} runnable blocks`))

  for (const block of runnable) {
    it(`${named(block)} runs as shown`, async () => {
      const cwd = mkdtempSync(join(scratch, 'run-'))
      mkdirSync(join(cwd, 'views'))
      const file = must(snippets.file.get(block), 'the snippet file')
      try {
        await execFile(process.execPath, ['--conditions=eddy-source', '--import', tsx, file], {
          cwd,
          env: {
            ...process.env,
            TSX_TSCONFIG_PATH: must(snippets.config.get(block), 'the snippet tsconfig'),
          },
          timeout: 120_000,
        })
      } catch (error) {
        const e = error as { stderr?: string; message: string }
        assert.fail(`${named(block)} failed:\n${e.stderr ?? e.message}\n---\n${textOf(file)}`)
      }
    })
  }
})
