import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
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
})
