import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, it } from 'node:test'

const root = new URL('..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

function importByName(specifier: string, conditions: string[]): string {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).sort().join(','))`
  return execFileSync(
    process.execPath,
    [...conditions, '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: root,
      encoding: 'utf8',
    },
  ).trim()
}

describe('package', () => {
  it('is an ESM package named eddy whose subpaths point at source and built files', () => {
    assert.equal(pkg.name, 'eddy')
    assert.equal(pkg.type, 'module')
    for (const [subpath, target] of Object.entries(
      pkg.exports as Record<string, Record<string, string> | string>,
    )) {
      if (typeof target === 'string') continue
      assert.ok(existsSync(new URL(`../${target['eddy-source']}`, import.meta.url)), `${subpath} source`)
      assert.match(target.default, /^\.\/dist\/.*\.js$/, subpath)
    }
  })

  it('resolves `eddy` by name from inside the repository under tsx (self-reference, source condition)', () => {
    const keys = importByName('eddy', ['--conditions=eddy-source']).split(',')
    assert.ok(keys.includes('connect'))
    assert.ok(keys.includes('EddyError'))
  })

  it('resolves `eddy` by name to the built package, as consumers get it', {
    skip: existsSync(new URL('../dist/index.js', import.meta.url))
      ? false
      : 'dist/ is built by `npm install` (prepare)',
  }, () => {
    const keys = importByName('eddy', []).split(',')
    assert.ok(keys.includes('connect'))
  })

  it('keeps the stream-django port (settings, `client` and `feedManager` singletons) in `eddy/django`', () => {
    const rootKeys = importByName('eddy', ['--conditions=eddy-source']).split(',')
    const django = importByName('eddy/django', ['--conditions=eddy-source']).split(',')
    for (const name of ['client', 'feedManager', 'configure', 'Enrich', 'activityCreated']) {
      assert.ok(django.includes(name), `eddy/django exports ${name}`)
      assert.ok(!rootKeys.includes(name), `eddy does not export ${name}`)
    }
  })

  it('loads no stream-django module from the root entry (its import graph stays out of src/django)', () => {
    const seen = new Set<string>()
    const walk = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      for (const [, spec] of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm))
        walk(join(dirname(file), spec.replace(/\.js$/, '.ts')))
    }
    walk(join(root, 'src/index.ts'))
    assert.deepEqual(
      [...seen].map((f) => relative(root, f)).filter((f) => f.startsWith('src/django/')),
      [],
    )
  })

  it('lists in `sideEffects` exactly the modules that register something when imported', () => {
    // A statement at column 0 that calls or branches runs at import: registerAdapter(...) in the ORM
    // entries, the tracked-row describer in activity-model.ts, TypeORM's migration patch.
    const topLevel = /^(?:[A-Za-z_$][\w.$]*\(|if \()/m
    const files = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
      )
    const registering = files('src/django').filter((f) => topLevel.test(readFileSync(join(root, f), 'utf8')))
    assert.ok(registering.includes('src/django/typeorm/index.ts'))
    const listed = pkg.sideEffects as string[]
    assert.deepEqual(
      listed.filter((f) => f.startsWith('./src/')).sort(),
      registering.map((f) => `./${f}`).sort(),
    )
    assert.deepEqual(
      listed.filter((f) => f.startsWith('./dist/')).sort(),
      registering.map((f) => `./${f.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')}`).sort(),
    )
  })
})
