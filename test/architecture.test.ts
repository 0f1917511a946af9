/**
 * The architecture the code review asked for, checked on the source: data flows client/server →
 * engine → store. Stores import nothing from the engine, client or server; the server and the
 * integrations reach a store only through the engine (type imports aside); only the client's
 * `connect()` constructs the built-in stores. The engine is one door: its facade hands out no
 * store, and the edges (server, client, V3) import none of the plumbing behind it.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, it } from 'node:test'
import { connect } from '../src/client/client.js'

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

  it('the server, the client and the V3 edge import no engine plumbing (the facade and public types only)', () => {
    // The internal context and the modules behind it: the write path, fan-out, store wrappers.
    const plumbing =
      /(^|\/)engine\/(context|activity-writes|targets|store-guard|feed-observer|fanout|fanout-queue|past-cap|optimistic|updates|follows|reactions|reaction-input)\.js$/
    const offenders = [...under('server'), ...under('client'), ...under('v3')].flatMap(({ path, name }) =>
      allImports(path)
        .filter((spec) => plumbing.test(spec))
        .map((spec) => `${name} imports ${spec}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('the engine hands out no store: no documents, store or plumbing member on the facade', async () => {
    const client = connect({ store: 'memory' })
    try {
      const engine = client.engine as unknown as Record<string, unknown>
      const members = new Set([
        ...Object.keys(engine),
        ...Object.getOwnPropertyNames(Object.getPrototypeOf(engine)),
      ])
      const leaks = [
        'documents',
        'store',
        'audited',
        'recordAudit',
        'loadStored',
        'loadActivities',
        'writeBodies',
      ]
        .concat(['readFlatRows', 'readGroupRows', 'admitFanout', 'setTargets', 'retarget', 'getEntries'])
        .filter((name) => members.has(name))
      assert.deepEqual(leaks, [])
    } finally {
      await client.close()
    }
    // Nor does anything outside the engine reach for one through it.
    const offenders = [...under('server'), ...under('client'), ...under('v3'), ...under('django')].flatMap(
      ({ path, name }) => (/engine\.(documents|store)\b/.test(readFileSync(path, 'utf8')) ? [name] : []),
    )
    assert.deepEqual(offenders, [])
  })
})
