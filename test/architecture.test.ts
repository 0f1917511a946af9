/**
 * The architecture the code review asked for, checked on the source: data flows client/server →
 * engine → store. Stores import nothing from the engine, client or server; the server and the
 * integrations reach a store only through the engine (type imports aside); only the client's
 * `connect()` constructs the built-in stores. The engine is one door: its facade hands out no
 * store, and the edges (server, client, V3) import from it only what an allowlist names: the
 * facade, its public types and the pure checks they apply at the door.
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

/** An import of an engine module (`../engine/x.js`, `./x.js` inside the engine). */
const isEngine = (spec: string) => /(^|\/)engine\/[\w-]+\.js$/.test(spec)
/** The engine module an import names: `../../engine/bounds.js` → `bounds`. */
const engineModule = (spec: string) => spec.replace(/^.*\//, '').replace(/\.js$/, '')

/**
 * What the edge (server, client, V3) may import values from: the facade, its errors, and pure
 * checks and constants it applies at the door before calling the facade (bounds, booleans, ids,
 * option names and parsers, document ids, the read policy and read budgets, reaction query checks,
 * V3's access rule, its follow and member checks, and who sees which polls and voters).
 */
const EDGE_VALUES = new Set([
  'engine',
  'errors',
  'bounds',
  'booleans',
  'ids',
  'options',
  'option-names',
  'documents',
  'read',
  'read-policy',
  'read-budget',
  'reaction-read',
  'reaction-filter',
  'v3-access',
  'v3-follow-model',
  'v3-member-model',
  'v3-poll-access',
])
/** Modules whose public types the edge may name (answers and arguments of the facade), values not. */
const EDGE_TYPES = new Set([
  'activity',
  'audit',
  'events',
  'feed-groups',
  'links',
  'reaction-model',
  'users',
  'v3-bookmark-folders',
  'v3-pins',
])
/** Pure helpers the edge's value modules may use in turn (no state, no store). */
const PURE_HELPERS = new Set([
  'activity',
  'links',
  'time',
  'measure',
  'reaction-budget',
  'reaction-model',
  'feed-groups',
])

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

  it('the server, the client and the V3 edge import from the engine only what the allowlist names', () => {
    // An allowlist, not a blocklist: a new engine module is closed to the edge until it is named here.
    const offenders = [...under('server'), ...under('client'), ...under('v3')].flatMap(({ path, name }) => {
      const values = new Set(valueImports(path).filter(isEngine).map(engineModule))
      return allImports(path)
        .filter(isEngine)
        .map(engineModule)
        .filter((module) => !(EDGE_VALUES.has(module) || (!values.has(module) && EDGE_TYPES.has(module))))
        .map((module) => `${name} imports ${values.has(module) ? '' : 'types of '}engine/${module}`)
    })
    assert.deepEqual(offenders, [])
  })

  it('the engine modules the edge may import values from hold no state and reach no store', () => {
    // Pure checks and constants: they may import each other, nothing behind the facade.
    const offenders = [...EDGE_VALUES]
      .filter((module) => module !== 'engine')
      .flatMap((module) =>
        valueImports(join(SRC, 'engine', `${module}.ts`))
          .filter(
            (spec) =>
              /(^|\/)store\//.test(spec) || (spec.startsWith('./') && !EDGE_VALUES.has(engineModule(spec))),
          )
          .filter((spec) => !PURE_HELPERS.has(engineModule(spec)))
          .map((spec) => `engine/${module} imports ${spec}`),
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
