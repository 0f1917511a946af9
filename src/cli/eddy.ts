#!/usr/bin/env node
/**
 * The `eddy` command: `eddy serve` runs the Stream-compatible HTTP server.
 * Flags are parsed with node:util parseArgs; `eddy --help` lists them.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseStoreSpec, storeDirectory } from '../client/store-spec.js'
import type { FeedGroupOptions } from '../engine/feed-groups.js'
import { unknownOptionMessage } from '../engine/option-names.js'
import { type CorsOption, createServer, type GuestOptions } from '../server/index.js'
import { parseRateLimit, type RateLimitOptions } from '../server/rate-limit.js'
import { parseRealtimeLimit, type RealtimeLimits } from '../server/realtime-caps.js'
import type { UploadQuotaOptions } from '../server/upload-quota.js'
import type { UploadsOptions } from '../uploads/index.js'
import { version } from '../version.js'
import { listenError, parseFlags, unknownCommand } from './flags.js'
import {
  attachScaleOut,
  metricsServer,
  openRealtime,
  rebuild,
  type ScaleOutSettings,
  scaleOutClient,
  scaleOutSettings,
  scalesOut,
  shownRedis,
} from './scale-out.js'
import { servingLine, shownStore, uploadsLine } from './shown.js'

const HELP = `eddy: activity feeds with Stream's Feeds v1 API

Usage:
  eddy serve [flags]     start the server (default 127.0.0.1:8000, /api/v1.0/...)
  eddy worker [flags]    run fan-out workers against a shared store (PostgreSQL, or a SQLite file)
  eddy rebuild-timelines --store postgres://... --timelines redis://...
                         rebuild Redis timelines from PostgreSQL (after Redis lost data)
  eddy jobs list|retry   list the fan-out jobs set aside as dead, or put them back (eddy jobs --help)
  eddy --help            show this help
  eddy --version, -v     print Eddy's version

Flags of serve:
  --port <n>             port to listen on (default 8000)
  --host <addr>          address to bind (default 127.0.0.1)
  --store <spec>         memory | sqlite:<file> | postgres://user@host:5432/db (default sqlite:eddy.sqlite)
  --api-key <key>        API key clients send (env EDDY_API_KEY)
  --api-secret <secret>  HS256 signing secret, no "." (env EDDY_API_SECRET)
  --config <file>        JSON: { "feedGroups": { "<slug>": { "type": "flat" | "aggregated" | "notification" } },
                                  "publicReadGroups": ["user"],
                                  "rateLimit": { "perKey": 1000, "perUser": 60, "windowSeconds": 60 },
                                  "cors": ["https://app.example.com"],
                                  "realtime": { "channelsPerConnection": 100, "channelsPerUser": 1000 },
                                  "uploadBudget": 67108864,
                                  "uploadQuota": { "perUser": 104857600, "windowSeconds": 3600 },
                                  "guests": { "perAddress": 60, "windowSeconds": 3600 } (or false: no V3 guests),
                                  "uploads": { "store": "s3://bucket/prefix?endpoint=...", "maxFileBytes": 20971520,
                                               "maxImageBytes": 10485760, "publicUrl": "https://cdn.example.com/",
                                               "og": { "allowPrivate": false, "timeoutMs": 5000 } } }
  --rate-limit <spec>    calls per endpoint and window: key=<n>,user=<n>[,window=<seconds>] (window 60),
                         or off; overrides the config file's rateLimit (default: no limit)
  --cors <origins>       browser origins allowed to call (CORS): * (any; the default, see docs/server.md),
                         off, or a comma-separated list such as https://app.example.com; overrides the
                         config file's cors
  --realtime-limit <spec>
                         realtime (Faye) caps: connection=<n> channels per connection (100), user=<n>
                         channels per user (1000), connections=<n> connections (100000); overrides
                         the config file's realtime
  --upload-budget <bytes>
                         request-body bytes read at once, API and Faye together (default 67108864,
                         64 MiB); a body past it gets a 503; overrides the config file's uploadBudget
  --uploads <spec>       where uploaded files and images live: dir:<path> (default: eddy-uploads/ beside
                         the SQLite file), memory, s3://bucket/prefix?endpoint=<url>&path_style=true
                         (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or postgres://...
                         (default with a PostgreSQL --store: that database); overrides config uploads.store
  --public-url <url>     start of upload URLs (default http://<the request's Host>/); set it behind a proxy
  --og-allow-private     let link previews (og/) fetch private and loopback addresses (off: SSRF guard)
  --log                  log every request (JSON lines)
  --timelines <url>      timelines in Redis (needs --store postgres://...): redis://host:6379 or
                         redis-cluster://host:7000,host:7001 (env EDDY_TIMELINES; config "timelines")
  --queue <url>          fan-out through a BullMQ queue on this Redis (env EDDY_QUEUE; config "queue");
                         with --workers and no --queue, the queue shares the --timelines Redis
  --workers <n>          queue workers in this process; 0 only queues (eddy worker delivers); without
                         --workers or --queue, fan-out is delivered in this process, no queue

Flags of worker:
  --store <spec>         the store the servers use (sqlite:<file> or postgres://...)
  --config <file>        the same config file as serve (its feedGroups)
  --concurrency <n>      fan-out jobs run at once (default 1)
  --timelines <url>      as serve: with it (or --queue) the worker consumes the fan-out queue
  --queue <url>          as serve (default: the --timelines Redis)
  --lease-ms <n>         how long a worker holds a chunk before another may take it over (30000)
  --metrics-port <n>     serve Prometheus metrics on http://127.0.0.1:<n>/metrics

Without a key or secret, eddy generates them and keeps them in eddy-keys.json (mode 600) beside the
data (with --store memory, in a private temporary directory removed on exit). The secret is never
printed; prefer EDDY_API_SECRET to --api-secret, which other local users can see in the process list.
`

/** Settings read from `--config`. */
interface ConfigFile {
  feedGroups?: Record<string, FeedGroupOptions>
  publicReadGroups?: string[]
  rateLimit?: RateLimitOptions | false
  timelines?: string
  queue?: string
  cors?: CorsOption
  realtime?: Partial<RealtimeLimits>
  uploadBudget?: number
  uploadQuota?: UploadQuotaOptions | false
  guests?: GuestOptions | false
  uploads?: UploadsOptions & { publicUrl?: string }
}

/** The commands `main` knows, for the hint on a misspelt one. */
const COMMANDS = ['serve', 'worker', 'rebuild-timelines', 'jobs']

function fail(message: string): never {
  process.stderr.write(`eddy: ${message}\n`)
  process.exit(2)
}

/** `--cors`: `*`, `off`, or comma-separated origins (createServer validates each). */
function corsFlag(value: string | undefined): CorsOption | undefined {
  if (value === undefined) return undefined
  if (value === '*') return true
  if (value === 'off') return false
  return value.split(',').map((o) => o.trim())
}

function readConfig(path: string | undefined): ConfigFile {
  if (path === undefined) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    fail(`cannot read --config ${path}: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    fail(`--config ${path} must hold a JSON object`)
  const config = parsed as ConfigFile
  const keys = [
    'feedGroups',
    'publicReadGroups',
    'rateLimit',
    'timelines',
    'queue',
    'cors',
    'realtime',
    'uploadBudget',
    'uploadQuota',
    'guests',
    'uploads',
  ]
  for (const key of Object.keys(config)) {
    if (!keys.includes(key)) fail(unknownOptionMessage(`--config ${path}`, key, keys, 'key'))
  }
  return config
}

/** Where the key and secret came from, and the file holding them when `eddy` keeps them. */
interface Credentials {
  apiKey: string
  apiSecret: string
  /** The keys file the secret is in (beside the SQLite data, or a private temporary one for `--store memory`). */
  file?: string
}

function readKeys(file: string): { apiKey: string; apiSecret: string } {
  let saved: unknown
  try {
    saved = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    // JSON.parse's message quotes the text, which holds the secret: say where, not what.
    fail(`cannot read the keys file ${file}: it must be JSON { "apiKey": "...", "apiSecret": "..." }`)
  }
  const { apiKey, apiSecret } = (saved ?? {}) as Record<string, unknown>
  if (typeof apiKey !== 'string' || apiKey === '' || typeof apiSecret !== 'string' || apiSecret === '')
    fail(`the keys file ${file} must hold a non-empty apiKey and apiSecret`)
  return { apiKey, apiSecret }
}

/**
 * The key and secret: flags, then environment, then the keys file beside the data, else generated
 * and saved (mode 600). The secret is never printed, so it stays out of terminals and logs; with
 * `--store memory` a generated pair goes to a private temporary directory instead.
 */
function credentials(store: string, key?: string, secret?: string): Credentials {
  if (key && secret) return { apiKey: key, apiSecret: secret }
  const directory = storeDirectory(parseStoreSpec(store))
  const beside = directory === undefined ? undefined : join(directory, 'eddy-keys.json')
  if (beside && existsSync(beside)) {
    const saved = readKeys(beside)
    const file = secret ? undefined : beside
    return { apiKey: key ?? saved.apiKey, apiSecret: secret ?? saved.apiSecret, file }
  }
  // base64url has no ".", which the official client would take for a user token.
  const apiKey = key ?? randomBytes(12).toString('base64url')
  const apiSecret = secret ?? randomBytes(32).toString('base64url')
  const file = beside ?? join(mkdtempSync(join(tmpdir(), 'eddy-keys-')), 'eddy-keys.json')
  // A temporary keys file only serves this run's memory store: removed when the process exits.
  if (!beside) process.once('exit', () => rmSync(dirname(file), { recursive: true, force: true }))
  writeFileSync(file, `${JSON.stringify({ apiKey, apiSecret }, null, 2)}\n`, { mode: 0o600 })
  return { apiKey, apiSecret, file }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseFlags('serve', fail, {
    args,
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      store: { type: 'string', default: 'sqlite:eddy.sqlite' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      config: { type: 'string' },
      'rate-limit': { type: 'string' },
      cors: { type: 'string' },
      'realtime-limit': { type: 'string' },
      'upload-budget': { type: 'string' },
      uploads: { type: 'string' },
      'public-url': { type: 'string' },
      'og-allow-private': { type: 'boolean', default: false },
      log: { type: 'boolean', default: false },
      timelines: { type: 'string' },
      queue: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be 0 to 65535, got ${values.port}`)
  const store = checkStore(values.store)
  const config = readConfig(values.config)
  let rateLimit = config.rateLimit
  if (values['rate-limit'] !== undefined) {
    try {
      rateLimit = parseRateLimit(values['rate-limit']) ?? false
    } catch (err) {
      fail((err as Error).message)
    }
  }
  let realtimeLimits = config.realtime
  if (values['realtime-limit'] !== undefined) {
    try {
      realtimeLimits = parseRealtimeLimit(values['realtime-limit'])
    } catch (err) {
      fail((err as Error).message)
    }
  }
  let uploadBudget = config.uploadBudget
  if (values['upload-budget'] !== undefined) {
    uploadBudget = Number(values['upload-budget'])
    if (!/^\d+$/.test(values['upload-budget']) || uploadBudget < 1024)
      fail(
        `--upload-budget takes a whole number of bytes, at least 1024, e.g. 67108864; got ${values['upload-budget']}`,
      )
  }
  const creds = credentials(
    store,
    values['api-key'] ?? process.env.EDDY_API_KEY,
    values['api-secret'] ?? process.env.EDDY_API_SECRET,
  )
  if (creds.apiSecret.includes('.'))
    fail('the API secret must not contain "." (getstream treats such a value as a user token)')

  const { publicUrl, ...uploadsConfig } = config.uploads ?? {}
  const uploads: UploadsOptions = { ...uploadsConfig }
  if (values.uploads !== undefined) uploads.store = values.uploads
  if (values['og-allow-private']) uploads.og = { ...uploads.og, allowPrivate: true }
  const scale = scaleOutSettings(values, config, store, fail)
  const client = scalesOut(scale)
    ? scaleOutClient(store, scale, { feedGroups: config.feedGroups, auditLog: true, uploads })
    : undefined
  const app = createServer({
    client,
    store,
    feedGroups: config.feedGroups,
    publicReadGroups: config.publicReadGroups,
    rateLimit,
    cors: corsFlag(values.cors) ?? config.cors,
    realtime: realtimeLimits,
    uploadBudget,
    uploadQuota: config.uploadQuota,
    guests: config.guests,
    uploads: client
      ? { publicUrl: values['public-url'] ?? publicUrl }
      : { ...uploads, publicUrl: values['public-url'] ?? publicUrl },
    apiKey: creds.apiKey,
    apiSecret: creds.apiSecret,
    logger: values.log,
  })
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    process.stderr.write(`eddy: ${signal}, finishing pending work\n`)
    app.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`eddy: shutdown failed: ${(err as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  // Realtime across servers and workers: fails the start, like the store, when Redis does not answer.
  const realtime = client ? await openRealtime(client, scale).catch((err) => fail(err.message)) : undefined
  const scaled = client ? attachScaleOut(app, client, scale, realtime) : undefined

  try {
    await app.listen({ port, host: values.host })
  } catch (err) {
    fail(listenError(err, '--port', port))
  }
  scaled?.start()
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const host = values.host.includes(':') ? `[${values.host}]` : values.host
  const url = `http://${host}:${actualPort}/api/`
  // The secret is never printed (terminals and process logs outlive it); only where it is.
  const secretAt = creds.file ? `the apiSecret in ${creds.file}` : 'the secret you gave'
  process.stdout.write(
    [
      servingLine(url, store, scale),
      uploadsLine(uploads.store as string | undefined, store, values['public-url'] ?? publicUrl),
      `api key: ${creds.apiKey}`,
      `api secret: ${secretAt}`,
      `connect: stream.connect('${creds.apiKey}', '<api secret>', 'eddy', { urlOverride: { api: '${url}' }, fayeUrl: 'http://${host}:${actualPort}/faye' })`,
      '',
    ].join('\n'),
  )
}

/** Checks a --store value; exits with a clear message when it names no store Eddy knows. */
function checkStore(store: string): string {
  try {
    parseStoreSpec(store)
  } catch (err) {
    fail(`--${(err as Error).message}`)
  }
  return store
}

/**
 * `eddy worker`: claims and delivers fan-out jobs that servers accepted, until SIGTERM/SIGINT.
 * Any number of workers (and servers) share a store: a claim leases a job to one of them, and a
 * dead worker's jobs are taken over when its lease ends.
 */
async function worker(args: string[]): Promise<void> {
  const { values } = parseFlags('worker', fail, {
    args,
    options: {
      store: { type: 'string' },
      config: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      timelines: { type: 'string' },
      queue: { type: 'string' },
      'lease-ms': { type: 'string' },
      'metrics-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  if (values.store === undefined) fail('--store is required: the store your servers use')
  const store = checkStore(values.store)
  if (store === 'memory')
    fail('--store memory cannot be shared with a server; use sqlite:<file> or postgres://...')
  const concurrency = Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    fail(`--concurrency must be 1 to 64, got ${values.concurrency}`)
  const config = readConfig(values.config)
  const scale = scaleOutSettings(values, config, store, fail)
  if (!scalesOut(scale) && values['metrics-port'] !== undefined)
    fail('--metrics-port needs the queue (--timelines or --queue): a worker without it serves no metrics')
  if (scalesOut(scale)) {
    return queueWorker(
      store,
      scale,
      concurrency,
      config.feedGroups,
      values['lease-ms'],
      values['metrics-port'],
    )
  }
  const { connect } = await import('../client/client.js')
  // One client per slot: each claims and drains its own jobs.
  const clients = Array.from({ length: concurrency }, () => connect({ store, feedGroups: config.feedGroups }))
  try {
    await Promise.all(clients.map((c) => c.ready()))
  } catch (err) {
    fail((err as Error).message)
  }
  const stop = new AbortController()
  const shutdown = (signal: string) => {
    if (stop.signal.aborted) return
    process.stderr.write(`eddy worker: ${signal}, finishing the jobs in hand\n`)
    stop.abort()
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.stdout.write(`eddy worker on ${shownStore(store)}, concurrency ${concurrency}\n`)
  await Promise.all(clients.map((c) => c.engine.work(stop.signal)))
  await Promise.all(clients.map((c) => c.close()))
  process.exit(0)
}

/** `eddy worker --timelines …`: a fan-out queue consumer, with a metrics endpoint when asked. */
async function queueWorker(
  store: string,
  scale: ScaleOutSettings,
  concurrency: number,
  feedGroups: Record<string, FeedGroupOptions> | undefined,
  leaseMs: string | undefined,
  metricsPort: string | undefined,
): Promise<void> {
  const queueUrl = scale.queue ?? scale.timelines
  if (queueUrl === undefined) fail('eddy worker: the queue needs --timelines or --queue')
  const lease = leaseMs === undefined ? undefined : Number(leaseMs)
  if (lease !== undefined && (!Number.isInteger(lease) || lease < 100 || lease > 3_600_000))
    fail(`--lease-ms must be 100 to 3600000, got ${leaseMs}`)
  const port = metricsPort === undefined ? undefined : Number(metricsPort)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    fail(`--metrics-port must be 0 to 65535, got ${metricsPort}`)
  const client = scaleOutClient(
    store,
    { ...scale, workers: concurrency },
    { feedGroups, fanoutLeaseMs: lease },
  )
  try {
    await client.ready()
  } catch (err) {
    fail((err as Error).message)
  }
  // Chunks delivered here reach subscribers on every server through Redis pub/sub.
  const realtime = await openRealtime(client, scale).catch((err) => fail(err.message))
  const metrics =
    port === undefined
      ? undefined
      : await metricsServer(client, port).catch((err) => fail(listenError(err, '--metrics-port', port)))
  const stop = new AbortController()
  const shutdown = (signal: string) => {
    if (stop.signal.aborted) return
    process.stderr.write(`eddy worker: ${signal}, finishing the chunks in hand\n`)
    stop.abort()
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  const address = metrics?.address()
  const at =
    address && typeof address === 'object' ? `, metrics on http://127.0.0.1:${address.port}/metrics` : ''
  process.stdout.write(
    `eddy worker on ${shownStore(store)}, queue on ${shownRedis(queueUrl)}, concurrency ${concurrency}${at}\n`,
  )
  await client.engine.work(stop.signal, undefined, concurrency)
  metrics?.close()
  await realtime?.close()
  await client.close()
  process.exit(0)
}

/** `eddy rebuild-timelines`: Redis timelines again from PostgreSQL. */
async function rebuildCommand(args: string[]): Promise<void> {
  const { values } = parseFlags('rebuild-timelines', fail, {
    args,
    options: {
      store: { type: 'string' },
      timelines: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  const config = readConfig(values.config)
  const store = values.store ?? fail('--store postgres://… is required: the PostgreSQL that keeps the feeds')
  const timelines = values.timelines ?? process.env.EDDY_TIMELINES ?? config.timelines
  if (!/^postgres(ql)?:\/\//.test(store)) fail('--store must be postgres://…')
  if (timelines === undefined) fail('--timelines redis://… is required: the Redis to rebuild')
  await rebuild(store, timelines, config.feedGroups, fail)
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP)
    return
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${version}\n`)
    return
  }
  if (command === 'worker') return worker(rest)
  if (command === 'rebuild-timelines') return rebuildCommand(rest)
  if (command === 'jobs') return (await import('./jobs.js')).jobsCommand(rest, fail)
  if (command !== 'serve') fail(unknownCommand(command, COMMANDS))
  await serve(rest)
}

main(process.argv.slice(2)).catch((err) => fail((err as Error).message))
