/**
 * The small things a newcomer tripped over (issue 19, item 10): `eddy serve`'s start-up line
 * (it dropped `?schema=` and said "1 queue workers"), files git should ignore, and what
 * CONTRIBUTING.md says `npm test` costs. The README snippets are test/docs-snippets.test.ts.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { servingLine, shownStore } from '../src/cli/shown.js'

const root = new URL('..', import.meta.url).pathname
const URL_ = 'http://127.0.0.1:8000/api/'

describe("eddy serve's start-up line", () => {
  it('keeps the PostgreSQL schema and hides the credentials and other parameters', () => {
    assert.equal(
      shownStore('postgres://eddy:secret@db:5432/app?schema=feeds&password=x&sslmode=require'),
      'postgres://db:5432/app?schema=feeds',
    )
    assert.equal(shownStore('postgresql://eddy@db/app'), 'postgres://db/app')
  })

  it('counts queue workers in words that agree', () => {
    const store = 'postgres://eddy@db/app?schema=s'
    const timelines = 'redis://127.0.0.1:6379'
    assert.equal(
      servingLine(URL_, store, { timelines, workers: 1 }),
      `eddy serving ${URL_}v1.0/ on postgres://db/app?schema=s, timelines on redis://127.0.0.1:6379, 1 queue worker`,
    )
    assert.match(servingLine(URL_, store, { timelines, workers: 0 }), /, 0 queue workers$/)
    assert.match(servingLine(URL_, store, { timelines, workers: 4 }), /, 4 queue workers$/)
    assert.equal(servingLine(URL_, 'memory', {}), `eddy serving ${URL_}v1.0/ on memory`)
  })
})

describe('the repository', () => {
  it('ignores the packed tarball, the local Redis Cluster and the snippet scratch directory', () => {
    const lines = readFileSync(new URL('../.gitignore', import.meta.url), 'utf8').split('\n')
    for (const pattern of ['eddy-*.tgz', '.redis-cluster/', '.eddy-snippets-*/'])
      assert.ok(lines.includes(pattern), pattern)
    // And git reads them so, where this is a git checkout (a copy without .git has only the file).
    if (existsSync(new URL('../.git', import.meta.url)))
      for (const path of ['eddy-0.1.0.tgz', '.redis-cluster/nodes-7100.conf', '.eddy-snippets-x/a.ts']) {
        // check-ignore exits 1 (execFileSync throws) for a path that is not ignored.
        execFileSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: root })
      }
  })

  it("CONTRIBUTING.md states npm test's time in minutes, as it takes", () => {
    const text = readFileSync(new URL('../CONTRIBUTING.md', import.meta.url), 'utf8')
    assert.doesNotMatch(text, /~70 s/)
    assert.match(text, /npm test .*# .*~[\d–]+ min/)
  })
})
