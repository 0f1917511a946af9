/**
 * Realtime across instances (docs/scale-out.md, Realtime): a {@link FeedEventTransport} over
 * Redis pub/sub, for a single Redis or a Redis Cluster (plain PUBLISH reaches every node's
 * subscribers). Every instance that builds a message (a server's write, a worker's fan-out chunk)
 * delivers it to its own listeners at once and publishes it on `<prefix>:realtime`; every other
 * instance hears it and delivers it to its listeners. An envelope names the instance that sent it,
 * so an instance skips its own echo: each listener gets a message once (pub/sub is at most once:
 * a message sent while a subscriber is cut off is lost for it, as Stream's realtime is best effort).
 *
 * Which feeds are listened to anywhere (workers build messages only for those) lives in a sorted
 * set, `<prefix>:{realtime}:listening`, feed -> expiry (ms). A listening instance adds its feeds
 * again every heartbeat, and on a new subscription at once with a `listen` envelope on the channel
 * so the others know before their next read; every instance reads the set about every second.
 * A feed nobody renews (its server died, or its last subscriber left) drops out after the TTL.
 * Expiries are wall-clock times: a process whose clock runs s behind shortens its feeds' TTL by s.
 */
import { randomBytes } from 'node:crypto'
import type { FeedEvents, FeedEventTransport, FeedMessage } from '../engine/events.js'
import { connectChecked, createClient, parseLocation, type RedisClient } from '../store/redis/driver.js'
import { envelopeTexts, parseEnvelope } from './envelope.js'

/** PUBLISH ARGV[2] on channel ARGV[1], run on the node of KEYS[1] (see `#send`). */
const PUBLISH_IN_ORDER = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"

/** What {@link RedisFeedTransport.open} needs. */
export interface RedisTransportOptions {
  /** `redis://host:6379[/db]`, `rediss://…` or `redis-cluster://h:p,h:p` (the timelines' location works as is). */
  redis: string
  /** Channel and key prefix (default: the location's `?prefix=`, else `eddy`, as timelines). */
  prefix?: string
  /** How long a listened feed counts without being renewed (default 15,000 ms). */
  ttlMs?: number
  /** How often an instance renews the feeds it listens to (default a third of the TTL). */
  heartbeatMs?: number
  /** How often an instance reads the feeds listened to anywhere (default 1,000 ms). */
  refreshMs?: number
  /** Most listened feeds an instance keeps track of (default 100,000). */
  maxFeeds?: number
  /** Largest text put on or taken from the channel (default 1 MiB); bigger messages are split. */
  maxMessageBytes?: number
}

/** Counters of a transport, for metrics and tests. */
export interface RedisTransportStats {
  /** Texts published (messages and announcements). */
  published: number
  /** Messages from other instances delivered to this one's listeners. */
  delivered: number
  /** Texts on the channel that were not well-formed envelopes. */
  ignored: number
  /** Activities left out of a message because alone they exceed `maxMessageBytes`. */
  dropped: number
  /** Redis commands that failed (an outage: realtime is best effort, the change has committed). */
  failures: number
  /**
   * Reads of the listened feeds that found more than `maxFeeds`: feeds past the bound were left
   * out, and their subscribers miss what other instances build (raise `maxFeeds`; docs/server.md,
   * Realtime limits).
   */
  overflows: number
}

const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/

/** A Redis pub/sub transport for `engine.events`; see the module comment. */
export class RedisFeedTransport implements FeedEventTransport {
  /** This instance's id in envelopes (random per transport). */
  readonly id = randomBytes(9).toString('base64url')
  /** The pub/sub channel. */
  readonly channel: string
  /** The sorted set of listened feeds. */
  readonly key: string
  readonly #commands: RedisClient
  readonly #subscriber: RedisClient
  /** The timings and bounds in use (the options with their defaults). */
  readonly settings: Required<Omit<RedisTransportOptions, 'redis' | 'prefix'>>
  readonly #stats: RedisTransportStats = {
    published: 0,
    delivered: 0,
    ignored: 0,
    dropped: 0,
    failures: 0,
    overflows: 0,
  }
  #events: FeedEvents | undefined
  /** Feeds listened to anywhere, as last read (plus announcements since): replaced, never copied. */
  #remote = new Set<string>()
  /** Announced feeds -> until when they count, merged into each read (the read may predate them). */
  readonly #announced = new Map<string, number>()
  /** Feeds this instance started listening to since the last announcement. */
  readonly #pending = new Set<string>()
  #announcing: NodeJS.Immediate | undefined
  #reading = false
  readonly #timers: NodeJS.Timeout[] = []
  #closed = false

  private constructor(
    commands: RedisClient,
    subscriber: RedisClient,
    prefix: string,
    settings: RedisFeedTransport['settings'],
  ) {
    this.#commands = commands
    this.#subscriber = subscriber
    this.channel = `${prefix}:realtime`
    this.key = `${prefix}:{realtime}:listening`
    this.settings = settings
  }

  /**
   * Connects (two connections: commands and the subscription), subscribes and reads the listened
   * feeds once; rejects naming the location when Redis does not answer. Later outages are
   * survived: ioredis reconnects and subscribes again; what is published meanwhile is lost.
   */
  static async open(options: RedisTransportOptions): Promise<RedisFeedTransport> {
    const location = parseLocation(options.redis, 'realtime')
    const prefix = options.prefix ?? location.params.get('prefix') ?? 'eddy'
    if (!PREFIX.test(prefix))
      throw new TypeError(
        `realtime prefix must be 1 to 64 letters, digits, _ . or -, got ${JSON.stringify(prefix)}`,
      )
    const ttlMs = whole('ttlMs', options.ttlMs, 15_000, 100, 3_600_000)
    const settings = {
      ttlMs,
      heartbeatMs: whole('heartbeatMs', options.heartbeatMs, Math.max(50, Math.floor(ttlMs / 3)), 10, ttlMs),
      refreshMs: whole('refreshMs', options.refreshMs, 1000, 10, 600_000),
      maxFeeds: whole('maxFeeds', options.maxFeeds, 100_000, 1, 10_000_000),
      maxMessageBytes: whole('maxMessageBytes', options.maxMessageBytes, 1 << 20, 1024, 512 << 20),
    }
    const commands = createClient(location, 'timelines')
    const subscriber = createClient(location, 'timelines')
    const transport = new RedisFeedTransport(commands, subscriber, prefix, settings)
    try {
      await connectChecked(commands, location, 'realtime')
      await connectChecked(subscriber, location, 'realtime')
      subscriber.on('message', (channel, text) => transport.#receive(channel, text))
      await (subscriber as unknown as { subscribe(channel: string): Promise<unknown> }).subscribe(
        transport.channel,
      )
      await transport.#read()
    } catch (error) {
      commands.disconnect()
      subscriber.disconnect()
      throw error
    }
    transport.#every(transport.settings.refreshMs, () => transport.#read())
    transport.#every(transport.settings.heartbeatMs, () => transport.#heartbeat())
    return transport
  }

  /** Makes this the transport of `events` (one engine's bus) and delivers other instances' messages to it. */
  attach(events: FeedEvents): this {
    if (this.#events && this.#events !== events)
      throw new Error('this realtime transport is attached already')
    this.#events = events
    events.transport = this
    for (const feed of events.listenedHere()) this.listened(feed)
    return this
  }

  /** Delivers `message` here, then publishes it for the other instances. */
  publish(message: FeedMessage, deliver: (message: FeedMessage) => void): void {
    deliver(message)
    if (this.#closed) return
    const { texts, dropped } = envelopeTexts(this.id, message, this.settings.maxMessageBytes)
    this.#stats.dropped += dropped
    for (const text of texts) this.#send('PUBLISH', this.channel, text)
  }

  /** Feeds listened to on any instance (this one's included), as last read: the same Set until it changes. */
  listening(): ReadonlySet<string> {
    return this.#remote
  }

  /** Announces a feed this instance started listening to (batched with others of the same tick). */
  listened(feed: string): void {
    if (this.#closed) return
    this.#pending.add(feed)
    this.#announcing ??= setImmediate(() => {
      this.#announcing = undefined
      const feeds = [...this.#pending]
      this.#pending.clear()
      const until = Date.now() + this.settings.ttlMs
      // Added before announced: an instance that reads the set after the announcement has it.
      void this.#renew(feeds, until).then(() => {
        for (let i = 0; i < feeds.length; i += 1000) {
          const part = feeds.slice(i, i + 1000)
          this.#send(
            'PUBLISH',
            this.channel,
            JSON.stringify({ v: 1, from: this.id, kind: 'listen', feeds: part, until }),
          )
        }
      })
    })
  }

  /** Counters since open. */
  stats(): RedisTransportStats {
    return { ...this.#stats }
  }

  /**
   * Stops the timers, lets commands in flight finish (at most a second) and disconnects. Feeds
   * this instance listened to are left to expire: another instance may listen to them too.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    if (this.#announcing) clearImmediate(this.#announcing)
    this.#remote = new Set()
    this.#subscriber.disconnect()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise((resolve) => {
      timer = setTimeout(resolve, 1000)
    })
    await Promise.race([this.#commands.quit().catch(() => undefined), late])
    clearTimeout(timer)
    this.#commands.disconnect()
  }

  #receive(channel: unknown, text: unknown): void {
    if (channel !== this.channel || this.#closed) return
    const envelope = parseEnvelope(text, this.settings.maxMessageBytes, this.settings.maxFeeds)
    if (!envelope) {
      this.#stats.ignored++
      return
    }
    if (envelope.from === this.id) return // delivered here when it was published
    if (envelope.kind === 'listen') {
      const until = Math.min(envelope.until, Date.now() + this.settings.ttlMs)
      for (const feed of envelope.feeds) {
        if (this.#announced.size >= this.settings.maxFeeds && !this.#announced.has(feed)) break
        this.#announced.set(feed, until)
        if (this.#remote.size < this.settings.maxFeeds) this.#remote.add(feed)
      }
      return
    }
    if (!this.#events) return
    this.#stats.delivered++
    this.#events.deliver(envelope.message)
  }

  /** Reads the listened feeds (unexpired, at most `maxFeeds`) and the announcements since. */
  async #read(): Promise<void> {
    if (this.#reading || this.#closed) return
    this.#reading = true
    try {
      const now = Date.now()
      const feeds = (await this.#commands.call(
        'ZRANGEBYSCORE',
        this.key,
        String(now),
        '+inf',
        'LIMIT',
        '0',
        String(this.settings.maxFeeds + 1),
      )) as string[]
      // One more than the bound tells that the set overflowed; that one is left out with the rest.
      if (feeds.length > this.settings.maxFeeds) {
        this.#stats.overflows++
        feeds.length = this.settings.maxFeeds
      }
      const read = new Set(feeds)
      for (const [feed, until] of this.#announced) {
        if (until <= now) this.#announced.delete(feed)
        else if (read.size < this.settings.maxFeeds) read.add(feed)
      }
      if (!this.#closed) this.#remote = read
    } catch {
      this.#stats.failures++ // the last read stands until Redis answers again
    } finally {
      this.#reading = false
    }
  }

  /** Renews this instance's feeds and drops expired ones from the set. */
  async #heartbeat(): Promise<void> {
    const now = Date.now()
    const mine = this.#events?.listenedHere() ?? []
    await this.#renew(mine, now + this.settings.ttlMs)
    await this.#send('ZREMRANGEBYSCORE', this.key, '-inf', `(${now}`)
  }

  async #renew(feeds: string[], until: number): Promise<void> {
    // GT: an instance never shortens the expiry another (listening longer) set.
    for (let i = 0; i < feeds.length; i += 1000)
      await this.#send('ZADD', this.key, 'GT', ...feeds.slice(i, i + 1000).flatMap((f) => [String(until), f]))
  }

  /** One command; its failure is counted, never thrown (realtime is best effort). */
  #send(command: string, ...args: string[]): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (command === 'PUBLISH') this.#stats.published++
    // PUBLISH has no key, so a cluster client sends each one to a random node, and two messages
    // of one instance could then reach a subscriber in the wrong order (an add after its
    // removal). Published from a script keyed on the listening set, they all go through the
    // node serving its slot, in order.
    const sent =
      command === 'PUBLISH'
        ? this.#commands.call('EVAL', PUBLISH_IN_ORDER, '1', this.key, ...args)
        : this.#commands.call(command, ...args)
    return sent.then(
      () => undefined,
      () => {
        this.#stats.failures++
      },
    )
  }

  #every(ms: number, run: () => Promise<void>): void {
    const timer = setInterval(() => void run().catch(() => undefined), ms)
    timer.unref()
    this.#timers.push(timer)
  }
}

/** An optional whole-number setting within bounds, or its default; a clear error otherwise. */
function whole(name: string, given: number | undefined, fallback: number, min: number, max: number): number {
  if (given === undefined) return fallback
  if (!Number.isSafeInteger(given) || given < min || given > max)
    throw new RangeError(`realtime ${name} must be a whole number from ${min} to ${max}, got ${given}`)
  return given
}
