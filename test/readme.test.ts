import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { must } from './helpers.js'

const tsx = import.meta.resolve('tsx')

/** Runs an examples/readme script in a fresh directory, as a newcomer would, and parses its output. */
function run(script: string): Record<string, unknown> {
  const cwd = mkdtempSync(join(tmpdir(), 'eddy-readme-'))
  try {
    const file = new URL(`../examples/readme/${script}`, import.meta.url).pathname
    const out = execFileSync(process.execPath, ['--conditions=eddy-source', '--import', tsx, file], {
      cwd,
      encoding: 'utf8',
      // tsx reads tsconfig from the working directory; decorators need the repository's settings.
      env: { ...process.env, TSX_TSCONFIG_PATH: new URL('../tsconfig.json', import.meta.url).pathname },
    })
    return JSON.parse(must(out.trim().split('\n').at(-1), 'a last output line'))
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
}

describe('README examples', () => {
  it('runs the quick start: timeline, aggregated timeline and notifications', () => {
    assert.deepEqual(run('quickstart.ts'), { flat: 1, groups: 1, unseen: 1 })
  })

  it('runs the realtime example: a fan-out delivery and a notification with its count', () => {
    assert.deepEqual(run('realtime.ts'), { timeline: 1, unseen: 1 })
  })

  it('runs the reactions example: a like with a nested comment, counts, a notification, a delete', () => {
    assert.deepEqual(run('reactions.ts'), {
      counts: { like: 1 },
      children: { comment: 1 },
      unseen: 1,
      after: { like: 0 },
    })
  })

  it('runs the TypeORM example: a saved Pin reaches the follower, enriched and rendered', () => {
    assert.deepEqual(run('typeorm-pins.ts'), { timeline: 1, html: 'alice pinned "hello"' })
  })

  it('runs the Sequelize example: pins created in a transaction reach the follower after COMMIT', () => {
    assert.deepEqual(run('sequelize-pins.ts'), { timeline: 1, message: 'hello', author: 'alice' })
  })

  it('runs the MikroORM example: pins flushed in a transaction reach the follower after COMMIT', () => {
    assert.deepEqual(run('mikro-orm-pins.ts'), { timeline: 1, message: 'hello', author: 'alice' })
  })

  it('runs the Kysely example: helpers inside a transaction publish after COMMIT', () => {
    assert.deepEqual(run('kysely-pins.ts'), { timeline: 1, message: 'hello', author: 'alice' })
  })

  it('runs the Drizzle example: helpers publish inserted rows and remove deleted ones', () => {
    assert.deepEqual(run('drizzle-pins.ts'), { timeline: 1, message: 'hello', author: 'alice' })
  })

  it('shows the quick start exactly as the script runs it', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const block = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    const script = readFileSync(new URL('../examples/readme/quickstart.ts', import.meta.url), 'utf8')
    assert.ok(block, 'README has a Quick start block')
    assert.ok(
      script.includes(block.trim()),
      'examples/readme/quickstart.ts contains the README block verbatim',
    )
  })

  it('shows the same TypeORM code in the README as in the example script', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const line of [
      'const client = connect() // embedded; feeds live in ./eddy.sqlite',
      "@Activity({ actorAttr: 'author', relatedModels: ['author'] })",
      'trackDataSource(dataSource)',
    ]) {
      assert.ok(readme.includes(line), line)
    }
  })
})
