/**
 * `eddy jobs`: the fan-out jobs set aside as dead after failing too often (docs/server.md, "Dead
 * fan-out jobs"). `list` shows them with their reasons; `retry <id>...` or `retry --all` puts
 * them back, failures forgotten, for the running servers and workers to deliver (within a lease
 * period). It opens the store the servers use and delivers nothing itself.
 */
import { describeDeadJob } from '../engine/dead-jobs.js'
import { parseFlags } from './flags.js'

/** The `eddy jobs` part of `eddy --help`. */
export const JOBS_HELP = `Usage of jobs (fan-out jobs set aside as dead after failing too often):
  eddy jobs list --store <spec> [--timelines <url>] [--limit <n>] [--json]
  eddy jobs retry <job id>... | --all --store <spec> [--timelines <url>]
  --store and --timelines as for serve (env EDDY_TIMELINES); --limit: most jobs listed (100)
`

/** Runs `eddy jobs <args>`; `fail` prints a message and exits with status 2. */
export async function jobsCommand(args: string[], fail: (message: string) => never): Promise<void> {
  const { values, positionals } = parseFlags('jobs', fail, {
    args,
    options: {
      store: { type: 'string' },
      timelines: { type: 'string' },
      limit: { type: 'string', default: '100' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  const [action, ...ids] = positionals
  if (values.help || action === undefined) {
    process.stdout.write(JOBS_HELP)
    return
  }
  if (action !== 'list' && action !== 'retry') fail(`unknown jobs action ${action}; use list or retry`)
  if (values.store === undefined) fail('--store is required: the store your servers use')
  if (values.store === 'memory') fail('--store memory holds nothing another process can see')
  if (action === 'list' && (ids.length > 0 || values.all)) fail('jobs list takes no job ids and no --all')
  if (action === 'retry' && ids.length === 0 && !values.all) fail('jobs retry needs job ids, or --all')
  if (action === 'retry' && ids.length > 0 && values.all) fail('jobs retry takes job ids or --all, not both')
  const { connect } = await import('../client/client.js')
  // localFanout off: this process only reads and marks job rows, it delivers nothing.
  const timelines = values.timelines ?? process.env.EDDY_TIMELINES
  const client = connect({ store: values.store, timelines, localFanout: false })
  try {
    await client.ready()
    if (action === 'list') {
      const dead = await client.engine.deadFanout(values.limit)
      if (values.json) process.stdout.write(`${JSON.stringify(dead)}\n`)
      else {
        process.stdout.write(`${dead.total} dead fan-out job${dead.total === 1 ? '' : 's'}\n`)
        for (const job of dead.jobs) process.stdout.write(`${describeDeadJob(job)}\n`)
        if (dead.total > dead.jobs.length)
          process.stdout.write(`(${dead.jobs.length} shown; --limit for more)\n`)
      }
    } else {
      const n = await client.engine.retryFanout(values.all ? 'all' : ids)
      process.stdout.write(
        `put back ${n} dead fan-out job${n === 1 ? '' : 's'}; running servers and workers deliver them within a lease period\n`,
      )
    }
  } catch (err) {
    await client.close().catch(() => undefined)
    fail((err as Error).message)
  }
  await client.close()
}
