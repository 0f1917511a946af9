/**
 * Timelines in Redis: the seam's entry writes and reads as Lua scripts (lua.ts) over the key
 * layout of keys.ts. Batch-first: a write is one script call per hash-tag bucket on a cluster
 * (one call in all on a single Redis), never a round trip per follower; with `wait` set, each
 * node's calls are followed by WAIT in the same pipeline, so a write resolves only once that many
 * replicas hold it (a failover after that cannot lose it).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreError } from '../errors.js'
import type {
  EntryRemove,
  EntryWrite,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  PastCapBound,
} from '../store.js'
import type { RedisClient, RedisPipeline } from './driver.js'
import { escapeGroup, KeySpace, slotOf, unescapeGroup } from './keys.js'
import { APPLY, ENTRIES, FANOUT, FLAT, GROUPS } from './lua.js'

/** Settings of Redis timelines. */
export interface TimelineSettings {
  /** Key prefix (default `eddy`). */
  prefix: string
  /** Most entries (flat feeds) or groups (grouped feeds) a feed keeps (default 1,000). */
  cap: number
  /** Replicas that must acknowledge each write (WAIT) before it counts (default 0). */
  wait: number
  /** How long WAIT may take, in ms (default 2,000). */
  waitMs: number
}

/** One timeline entry as Redis holds it. */
export interface RawEntry {
  sk: string
  origin: string | null
}

/** A group as Redis holds it, without bodies. */
export interface RawGroup {
  id: string
  group: string
  firstSk: string
  lastSk: string
  activityCount: number
  actorCount: number
  seen: boolean
  read: boolean
  entries: RawEntry[]
}

/** One script call: its keys (all in one hash-tag bucket on a cluster) and arguments. */
interface ScriptCall {
  script: 'eddyApply' | 'eddyFanout'
  keys: string[]
  args: (string | number)[]
}

interface FeedOps {
  feed: string
  grouped: boolean
  full: boolean
  adds: string[][]
  removes: string[][]
  origins: string[]
  maxLength: number
}

const HI = Buffer.from([0xff])

/** Errors of a cluster in the middle of a failover or a resharding, worth waiting out. */
const TRANSIENT =
  /MOVED|ASK|CLUSTERDOWN|TRYAGAIN|LOADING|READONLY|Connection is closed|ECONNREFUSED|ECONNRESET|replicas acknowledged/
/** 40 attempts 200 ms apart: longer than a failover (3.5–4.7 s measured with cluster-node-timeout 2000). */
const FAILOVER_ATTEMPTS = 40
const FAILOVER_DELAY_MS = 200

/**
 * Whether adding `sk` trims feeds to the cap: for one activity in 8, by its sort key's last digit
 * (a hash of the activity's identity), so every follower of a fan-out decides alike.
 */
export function capTrim(sk: string): boolean {
  return Number.parseInt(sk.slice(-1), 16) % 8 === 0
}

/** Reads a member `sk` or `sk|origin`. */
export function parseMember(member: string): RawEntry {
  const bar = member.indexOf('|')
  return bar < 0 ? { sk: member, origin: null } : { sk: member.slice(0, bar), origin: member.slice(bar + 1) }
}

const array = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : [])

/** Entry writes and reads on one Redis or Redis Cluster client. */
export class RedisTimelines {
  readonly keys: KeySpace
  readonly settings: TimelineSettings
  /** Where the timelines are, as messages show it (no password). */
  readonly location: string
  readonly #client: RedisClient
  readonly #cluster: boolean

  constructor(client: RedisClient, cluster: boolean, location: string, settings: TimelineSettings) {
    this.#client = client
    this.#cluster = cluster
    this.location = location
    this.settings = settings
    this.keys = new KeySpace(settings.prefix)
    client.defineCommand('eddyApply', { lua: APPLY })
    client.defineCommand('eddyFanout', { lua: FANOUT })
    client.defineCommand('eddyFlat', { lua: FLAT })
    client.defineCommand('eddyEntries', { lua: ENTRIES })
    client.defineCommand('eddyGroups', { lua: GROUPS })
  }

  /**
   * Adds (in order), removes, removes by origin, then trims, per feed as the seam orders them;
   * resolves with how many entries were new. Idempotent: safe to run again after a failure.
   */
  async apply(
    add: EntryWrite[] = [],
    remove: EntryRemove[] = [],
    byOrigin: { feed: string; origin: string }[] = [],
  ): Promise<number> {
    const feeds = new Map<string, FeedOps>()
    const ops = (feed: string) => {
      let f = feeds.get(feed)
      if (!f) {
        f = { feed, grouped: false, full: false, adds: [], removes: [], origins: [], maxLength: 0 }
        feeds.set(feed, f)
      }
      return f
    }
    for (const e of add) {
      const f = ops(e.feed)
      if (e.kind === 'flat') f.adds.push([e.sk, e.origin ?? ''])
      else {
        f.grouped = f.full = true
        f.adds.push([e.sk, e.origin ?? '', escapeGroup(e.group ?? ''), e.actor ?? '', e.groupId ?? e.sk])
      }
      if (e.maxLength !== undefined && (f.maxLength === 0 || e.maxLength < f.maxLength))
        f.maxLength = Math.max(1, e.maxLength)
    }
    for (const r of remove) {
      const f = ops(r.feed)
      f.full = true
      f.removes.push([r.sk, r.origin ?? ''])
    }
    for (const o of byOrigin) {
      const f = ops(o.feed)
      f.full = true
      f.origins.push(o.origin)
    }
    if (feeds.size === 0) return 0
    const groups = this.#cluster ? this.#byBucket([...feeds.values()]) : [[...feeds.values()]]
    const calls = groups.flatMap((list) => this.#calls(list))
    const results: unknown[] = await this.#guard('a timeline write', () =>
      this.#cluster ? this.#sendCluster(calls) : this.#sendSingle(calls),
    )
    return results.reduce((n: number, r) => n + Number(r), 0)
  }

  /**
   * A page of a flat feed, newest first (sort-key cursors). A page shorter than asked in a feed
   * that reached the cap also says where Redis's entries end: the oldest sort key held, and how
   * many held entries lie within the page's bounds (for the offset past them).
   */
  async readFlat(
    feed: string,
    page: PageQuery,
  ): Promise<{ entries: RawEntry[]; capped?: { oldest: string; within: number } }> {
    if (page.limit === 0) return { entries: [] }
    const { max, min } = flatBounds(page)
    const key = this.keys.entries(feed)
    const [members, card, oldest, within] = (await this.#guard('a feed read', () =>
      (this.#client.eddyFlat as (...a: unknown[]) => Promise<unknown>).call(
        this.#client,
        1,
        key,
        max,
        min,
        page.offset,
        page.limit,
      ),
    )) as [string[], number?, string?, number?]
    const entries = members.map(parseMember)
    if (card === undefined || card < this.settings.cap || !oldest) return { entries }
    return { entries, capped: { oldest: parseMember(oldest).sk, within: within ?? 0 } }
  }

  /** The newest `limit` sort keys of a feed. */
  async newest(feed: string, limit: number): Promise<string[]> {
    if (limit === 0) return []
    const key = this.keys.entries(feed)
    const members = (await this.#guard('a feed read', () =>
      this.#client.call('ZREVRANGE', key, 0, limit - 1),
    )) as string[]
    return members.map((m) => parseMember(m).sk)
  }

  /** Which of `sks` the feed holds, with their origins. */
  async entries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    const out = new Map<string, { origin: string | null }>()
    if (sks.length === 0) return out
    const found = (await this.#script('eddyEntries', [this.keys.entries(feed)], sks)) as string[]
    for (const member of found) {
      if (member === '') continue
      const { sk, origin } = parseMember(member)
      out.set(sk, { origin })
    }
    return out
  }

  /**
   * A page of groups, with counts and marks as asked, in one atomic script. A page shorter than
   * asked in a feed that holds `cap` groups also says where the held groups end (`past`).
   */
  async groups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options: GroupReadOptions = {},
  ): Promise<{ groups: RawGroup[]; unseen?: number; unread?: number; past?: PastCapBound }> {
    const bounds: Record<string, [string, string]> = {}
    for (const b of ['lt', 'lte', 'gt', 'gte'] as const) {
      const cursor = page[b]
      if (cursor) bounds[b] = [cursor.id, cursor.sk]
    }
    const mark = (target: GroupReadOptions['seen']) => (target === true ? true : (target ?? false))
    const request = {
      l: page.limit,
      o: page.offset,
      p: perGroup,
      b: bounds,
      c: options.counts ? 1 : 0,
      s: mark(options.seen),
      r: mark(options.read),
      k: this.settings.cap,
    }
    const raw = (await this.#script('eddyGroups', this.keys.all(feed), [JSON.stringify(request)])) as string
    const parsed = JSON.parse(raw) as {
      groups: unknown
      unseen?: number
      unread?: number
      past?: PastCapBound
    }
    const groups = array<[string, string, string, string, number, number, number, number, unknown]>(
      parsed.groups,
    ).map(
      ([group, id, firstSk, lastSk, activityCount, actorCount, unseen, unread, items]): RawGroup => ({
        id,
        group: unescapeGroup(group),
        firstSk,
        lastSk,
        activityCount,
        actorCount,
        seen: unseen === 0,
        read: unread === 0,
        entries: array<string>(items).map(parseMember),
      }),
    )
    const out: { groups: RawGroup[]; unseen?: number; unread?: number; past?: PastCapBound } = { groups }
    if (parsed.past) {
      const { oldest, within, bounds } = parsed.past
      // An empty Lua table comes back as {} or [] alike.
      out.past = { oldest, within, bounds: Array.isArray(bounds) ? {} : bounds }
    }
    if (options.counts) {
      out.unseen = parsed.unseen ?? 0
      out.unread = parsed.unread ?? 0
    }
    return out
  }

  /** Deletes every key of `feeds` (before a rebuild writes them again). */
  async clear(feeds: string[]): Promise<void> {
    const keys = feeds.flatMap((f) => this.keys.all(f))
    if (this.#cluster) await Promise.all(keys.map((k) => this.#client.call('DEL', k)))
    else if (keys.length > 0) await this.#client.call('DEL', ...keys)
  }

  #script(name: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const run = this.#client[name] as (...a: (string | number)[]) => Promise<unknown>
    return this.#guard(
      name.startsWith('eddyG') || name === 'eddyEntries' ? 'a feed read' : 'a timeline write',
      () => run.call(this.#client, keys.length, ...keys, ...args),
    )
  }

  /** Runs `work`; a Redis failure becomes a StoreError (503) naming the location. */
  async #guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof StoreError) throw error
      throw new StoreError(
        'unavailable',
        `Redis at ${this.location} failed ${what}: ${(error as Error).message}${what.endsWith('write') ? '; nothing was committed, retry it' : ''}`,
        { cause: error },
      )
    }
  }

  /**
   * The script calls for feeds of one bucket: flat feeds that only gain one entry, as a fan-out
   * chunk gives them, go by (sort key, origin, length) through the lean FANOUT script (1 key per
   * feed, no JSON); the rest through APPLY.
   */
  #calls(feeds: FeedOps[]): ScriptCall[] {
    const calls: ScriptCall[] = []
    const lean = new Map<string, { args: (string | number)[]; keys: string[] }>()
    const rest: FeedOps[] = []
    for (const f of feeds) {
      if (f.full || f.adds.length !== 1) {
        rest.push(f)
        continue
      }
      const [sk, origin] = f.adds[0]
      const keep = f.maxLength > 0 ? Math.min(f.maxLength, this.settings.cap) : this.settings.cap
      // A feed's own maxLength is exact; the cap is kept every few activities (a trim is one
      // call in three otherwise), so feeds run a few entries over it between trims.
      const trim = f.maxLength > 0 || capTrim(sk) ? '1' : '0'
      const id = `${sk}\u0000${origin}\u0000${keep}\u0000${trim}`
      let call = lean.get(id)
      if (!call) {
        call = { args: [sk, origin, keep, trim], keys: [] }
        lean.set(id, call)
      }
      call.keys.push(this.keys.entries(f.feed))
    }
    for (const { args, keys } of lean.values()) calls.push({ script: 'eddyFanout', keys, args })
    if (rest.length > 0) {
      const keys: string[] = []
      const list = rest.map((f) => {
        if (f.full) keys.push(...this.keys.all(f.feed))
        else keys.push(this.keys.entries(f.feed))
        return [f.full ? 6 : 1, f.grouped ? 1 : 0, f.adds, f.removes, f.origins, f.maxLength]
      })
      calls.push({ script: 'eddyApply', keys, args: [JSON.stringify({ c: this.settings.cap, f: list })] })
    }
    return calls
  }

  #byBucket(feeds: FeedOps[]): FeedOps[][] {
    const buckets = new Map<string, FeedOps[]>()
    for (const f of feeds) {
      const tag = this.keys.tag(f.feed)
      const list = buckets.get(tag)
      if (list) list.push(f)
      else buckets.set(tag, [f])
    }
    return [...buckets.values()]
  }

  #queue(pipe: RedisPipeline, call: ScriptCall): void {
    ;(pipe[call.script] as (...a: (string | number)[]) => RedisPipeline)(
      call.keys.length,
      ...call.keys,
      ...call.args,
    )
  }

  async #sendSingle(calls: ScriptCall[]): Promise<unknown[]> {
    if (this.settings.wait === 0) {
      return Promise.all(calls.map((c) => this.#script(c.script, c.keys, c.args)))
    }
    const pipe = this.#client.pipeline()
    for (const call of calls) this.#queue(pipe, call)
    pipe.call('WAIT', this.settings.wait, this.settings.waitMs)
    return this.#settle(await pipe.exec(), calls.length)
  }

  async #sendCluster(calls: ScriptCall[]): Promise<unknown[]> {
    if (this.settings.wait === 0) {
      return Promise.all(calls.map((c) => this.#script(c.script, c.keys, c.args)))
    }
    // WAIT counts the writes of its own connection: one pipeline per master, WAIT last. A
    // pipeline over several slots gets no redirection from ioredis, so a failover is waited out
    // here: the scripts are idempotent, so running them again is always safe.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pipelinesByNode(calls)
      } catch (error) {
        if (attempt >= FAILOVER_ATTEMPTS || !TRANSIENT.test((error as Error).message)) throw error
        this.#client.refreshSlotsCache?.()
        await sleep(FAILOVER_DELAY_MS)
      }
    }
  }

  async #pipelinesByNode(calls: ScriptCall[]): Promise<unknown[]> {
    const byNode = new Map<string, ScriptCall[]>()
    for (const call of calls) {
      const node = this.#client.slots?.[slotOf(call.keys[0])]?.[0] ?? '?'
      const list = byNode.get(node)
      if (list) list.push(call)
      else byNode.set(node, [call])
    }
    const results = await Promise.all(
      [...byNode.values()].map(async (group) => {
        const pipe = this.#client.pipeline()
        for (const call of group) this.#queue(pipe, call)
        pipe.call('WAIT', this.settings.wait, this.settings.waitMs)
        return this.#settle(await pipe.exec(), group.length)
      }),
    )
    return results.flat()
  }

  /** The script results of a pipeline; throws its first error, or when too few replicas acknowledged. */
  #settle(results: [Error | null, unknown][] | null, scripts: number): unknown[] {
    if (!results) throw new StoreError('unavailable', 'Redis dropped a pipeline (connection lost)')
    for (const [error] of results) if (error) throw error
    const acked = Number(results[scripts][1])
    if (acked < this.settings.wait) {
      throw new StoreError(
        'unavailable',
        `only ${acked} of ${this.settings.wait} Redis replicas acknowledged a timeline write within ${this.settings.waitMs} ms; it will be retried`,
      )
    }
    return results.slice(0, scripts).map(([, value]) => value)
  }
}

/** ZREVRANGEBYLEX bounds for sort-key cursors (byte 255 ends a member's range). */
function flatBounds(page: PageQuery): { max: Buffer | string; min: Buffer | string } {
  let max: string | undefined
  let maxHi = false
  const upper = (sk: string, hi: boolean) => {
    if (max === undefined || sk < max || (sk === max && !hi)) {
      max = sk
      maxHi = hi
    }
  }
  let min: string | undefined
  let minExclusive = false
  const lower = (sk: string, exclusive: boolean) => {
    if (min === undefined || sk > min || (sk === min && exclusive)) {
      min = sk
      minExclusive = exclusive
    }
  }
  if (page.lt !== undefined) upper(page.lt, false)
  if (page.lte !== undefined) upper(page.lte, true)
  if (page.gt !== undefined) lower(page.gt, true)
  if (page.gte !== undefined) lower(page.gte, false)
  const bound = (prefix: string, sk: string, hi: boolean) =>
    hi ? Buffer.concat([Buffer.from(prefix + sk), HI]) : `${prefix}${sk}`
  return {
    max: max === undefined ? '+' : bound('(', max, maxHi),
    // gt: everything above the sort key's whole range; gte: from the sort key on.
    min: min === undefined ? '-' : minExclusive ? bound('(', min, true) : bound('[', min, false),
  }
}
