/**
 * The architecture the code review asked for, checked on the source: data flows client/server →
 * engine → store. Stores import nothing from the engine, client or server; the server and the
 * integrations reach a store only through the engine (type imports aside); only the client's
 * `connect()` constructs the built-in stores.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, it } from 'node:test'

const SRC = new URL('../src/', import.meta.url).pathname

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Value (not type-only) imports of a file, as written. */
function valueImports(path: string): string[] {
  const text = readFileSync(path, 'utf8')
  return [...text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gms)].map((m) => m[1])
}

/** Every import of a file, types included. */
function allImports(path: string): string[] {
  const text = readFileSync(path, 'utf8')
  return [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gms)].map((m) => m[1])
}

const under = (folder: string) => files(join(SRC, folder)).map((p) => ({ path: p, name: relative(SRC, p) }))

describe('architecture', () => {
  it('stores import nothing from the engine, the client or the server', () => {
    const offenders = under('store').flatMap(({ path, name }) =>
      allImports(path)
        .filter((spec) => /(^|\/)(engine|client|server|django)\//.test(spec))
        .map((spec) => `${name} imports ${spec}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('the server and the stream-django port reach stores only through the engine', () => {
    const offenders = [...under('server'), ...under('django')].flatMap(({ path, name }) =>
      valueImports(path)
        .filter((spec) => /(^|\/)store\//.test(spec))
        .map((spec) => `${name} imports ${spec}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('nothing outside the engine calls a store method on the engine', () => {
    const offenders = [...under('server'), ...under('client'), ...under('django')].flatMap(
      ({ path, name }) => (/engine\.store\b/.test(readFileSync(path, 'utf8')) ? [name] : []),
    )
    assert.deepEqual(offenders, [])
  })
})
