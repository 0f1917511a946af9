/**
 * `npm run bench`: every benchmark, printed as one Markdown table. `-- --quick` stores 100k
 * activities instead of 1M for the read rows; `-- --only=adds,reads,server` runs some (names:
 * engine, fanout, adds, follows, bytes, reads, server, fairness, enrich, postgres, redis,
 * server-redis, v3, stream-framework: the last needs EDDY_BENCH_STREAM_FRAMEWORK). Nothing here is a test: numbers vary by run.
 */
import { existsSync } from 'node:fs'
import { benchEngine, ENGINE_BENCHES } from './engine-bench.js'
import { type BenchRow, table } from './table.js'

const quick = process.argv.includes('--quick')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const rows: BenchRow[] = []
const want = (name: string) => !only || only.split(',').includes(name)

const engineParts = only?.split(',').filter((n) => (ENGINE_BENCHES as readonly string[]).includes(n))
if (want('engine') || (engineParts && engineParts.length > 0)) {
  rows.push(...(await benchEngine(quick ? 100_000 : 1_000_000, want('engine') ? undefined : engineParts)))
}
// Server and integration benchmarks live beside their code's owners; run them when present.
for (const [name, file, fn] of [
  ['server', './server-bench.ts', 'benchServer'],
  ['fairness', './server-bench.ts', 'benchFairness'],
  ['enrich', './enrich-bench.ts', 'benchEnrich'],
  ['postgres', './postgres-bench.ts', 'benchPostgres'],
  ['redis', './redis-bench.ts', 'benchRedis'],
  ['server-redis', './server-redis-bench.ts', 'benchServerRedis'],
  ['v3', './v3-bench.ts', 'benchV3'],
  ['stream-framework', './stream-framework-bench.ts', 'benchStreamFramework'],
] as const) {
  if (!want(name) || !existsSync(new URL(file, import.meta.url))) continue
  const mod = (await import(file)) as Record<string, () => Promise<BenchRow[]>>
  rows.push(...(await mod[fn]()))
}
console.log(`\nEddy benchmarks (Node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`)
console.log(table(rows))
process.exit(0)
