/**
 * Every TypeScript and JavaScript block in README.md and docs/*.md compiles as a reader copies it
 * (issue 19, items 5 and 10): under `strict` and `noUncheckedIndexedAccess`, with the compiler
 * settings the doc itself gives (a ```json block with "compilerOptions" applies to the blocks after
 * it in its section). test/docs-snippets-run.test.ts runs those that need no outside service; the
 * context a block assumes (a `pins` repository, a server's keys) is in test/fixtures/snippets.ts.
 */
import assert from 'node:assert/strict'
import { execFile as execFileCb } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import {
  all,
  CONTEXT,
  configsOf,
  contextOf,
  named,
  type Snippets,
  textOf,
  writeSnippets,
} from './fixtures/snippets.js'
import { must } from './helpers.js'

const execFile = promisify(execFileCb)
const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname

let snippets: Snippets
let diagnostics = ''

before(async () => {
  snippets = writeSnippets()
  for (const config of configsOf(snippets)) {
    try {
      await execFile(process.execPath, [tsc, '-p', config], { cwd: snippets.dir, maxBuffer: 64 << 20 })
    } catch (error) {
      diagnostics += (error as { stdout: string }).stdout
    }
  }
})

after(() => snippets.remove())

describe('README and docs snippets compile', () => {
  it('finds the blocks, and every context entry still matches one', () => {
    assert.ok(all.length >= 25, `found ${all.length} blocks`)
    const used = new Set(all.map((b) => contextOf(b).key).filter(Boolean))
    assert.deepEqual(
      Object.keys(CONTEXT).filter((k) => !used.has(k)),
      [],
      'context entries whose block is gone',
    )
  })

  for (const block of all) {
    it(`${named(block)} compiles under strict and noUncheckedIndexedAccess`, () => {
      const file = must(snippets.file.get(block), 'the snippet file')
      const name = file.slice(snippets.dir.length + 1)
      // Errors in Eddy's own sources (compiled here under stricter settings than its own) are not the reader's.
      const mine = diagnostics.split('\n').filter((l) => l.startsWith(name) || l.includes(`/${name}(`))
      assert.deepEqual(mine, [], `${named(block)}:\n${textOf(join(file))}`)
    })
  }
})
