/**
 * Timelines in Redis: the seam's entry writes and reads as Lua scripts (lua.ts) over the key
 * layout of keys.ts. Batch-first: a write is one script call per hash-tag bucket on a cluster
 * (one call in all on a single Redis), never a round trip per follower. How the calls travel
 * (WAIT for replicas before a write resolves, riding out a failover) is script-calls.ts's.
 */
import { StoreError } from '../errors.js'
import { redisFailure } from '../outage.js'
import { actorOf, checkMaxLength, groupIdOf, groupKeyOf, TrimPlan } from '../shared/group-state.js'
import type {
  EntryRemove,
  EntryShape,
  EntryWrite,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  PastCapBound,
} from '../store.js'
import type { RedisClient } from './driver.js'
import { escapeGroup, KeySpace, unescapeGroup } from './keys.js'
import { APPLY, ENTRIES, FANOUT, FLAT, GROUPS } from './lua.js'
import { type ScriptCall, ScriptSender } from './script-calls.js'

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

/**
 * Whether adding `sk` trims feeds to the cap: for one activity in 8, by its sort key's last digit
 * (a hash of the activity's identity), so every follower of a fan-out decides alike.
 */
export function capTrim(sk: string): boolean {
  return Number.parseInt(sk.slice(-1), 16) % 8 === 0
}

/** APPLY's add of a grouped entry: `[sk, origin, escaped group, actor, group id]`. */
function groupedAdd(shape: EntryShape, sk: string, origin: string): string[] {
  return [
    sk,
    origin,
    escapeGroup(groupKeyOf(shape)),
    actorOf(shape),
    groupIdOf({ groupId: shape.groupId, sk }),
  ]
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
  readonly #sender: ScriptSender

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
    this.#sender = new ScriptSender(client, cluster, settings, (name, keys, args) =>
      this.#script(name, keys, args),
    )
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
    const trims = new TrimPlan()
    for (const e of add) {
      const f = ops(e.feed)
      if (e.kind === 'flat') f.adds.push([e.sk, e.origin ?? ''])
      else {
        f.grouped = f.full = true
        f.adds.push(groupedAdd(e, e.sk, e.origin ?? ''))
      }
      trims.note(e.feed, e)
    }
    // G4's plan (on the wire, 0 means no maxLength).
    for (const [feed, { keep }] of trims.entries()) ops(feed).maxLength = keep
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
    const results: unknown[] = await this.#guard('a timeline write', () => this.#sender.send(calls))
    return results.reduce((n: number, r) => n + Number(r), 0)
  }

  /**
   * A fan-out chunk: entry `sk` through `origin` into each of `feeds` that has a shape for its
   * slug. The same as `apply` with one EntryWrite per feed, but flat feeds go straight to the
   * lean FANOUT script (one key each, grouped by bucket on a cluster) without building an object
   * per follower: at 2,000 followers a chunk, that JavaScript cost as much as the script. With
   * `report`, resolves with the feeds that did not hold the entry yet (for realtime messages).
   */
  async fanout(
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report = false,
  ): Promise<string[] | undefined> {
    // Lean calls by (bucket on a cluster, maxLength), each with its feeds in key order; grouped
    // feeds through APPLY, one call per bucket (every feed on a single Redis).
    const lean = new Map<string, { call: ScriptCall; feeds: string[] }>()
    const grouped = new Map<string, { call: ScriptCall; feeds: string[]; list: unknown[] }>()
    const capTrimmed = capTrim(sk)
    let slug = ''
    let shape: EntryShape | undefined
    for (const feed of feeds) {
      const colon = feed.indexOf(':')
      if (colon !== slug.length || !feed.startsWith(slug)) {
        slug = feed.slice(0, colon)
        shape = Object.hasOwn(shapes, slug) ? shapes[slug] : undefined
      }
      if (!shape) continue
      const tag = this.#cluster ? this.keys.tag(feed) : ''
      // As apply() reads it (G4); 0 means none.
      const max = shape.maxLength === undefined ? 0 : checkMaxLength(shape.maxLength)
      if (shape.kind !== 'flat') {
        let g = grouped.get(tag)
        if (!g) {
          g = { call: { script: 'eddyApply', keys: [], args: [] }, feeds: [], list: [] }
          grouped.set(tag, g)
        }
        g.call.keys.push(...this.keys.all(feed))
        g.feeds.push(feed)
        g.list.push([6, 1, [groupedAdd(shape, sk, origin)], [], [], max])
        continue
      }
      const id = `${tag}\u0000${max}`
      let l = lean.get(id)
      if (!l) {
        const keep = max > 0 ? Math.min(max, this.settings.cap) : this.settings.cap
        const trim = max > 0 || capTrimmed ? '1' : '0'
        l = {
          call: { script: 'eddyFanout', keys: [], args: [sk, origin, keep, trim, report ? '1' : '0'] },
          feeds: [],
        }
        lean.set(id, l)
      }
      l.call.keys.push(this.#cluster ? this.keys.entries(feed, tag) : this.keys.entries(feed))
      l.feeds.push(feed)
    }
    for (const g of grouped.values()) {
      g.call.args.push(JSON.stringify({ c: this.settings.cap, f: g.list, r: report ? 1 : 0 }))
    }
    const parts = [...lean.values(), ...grouped.values()]
    if (parts.length === 0) return report ? [] : undefined
    const calls = parts.map((p) => p.call)
    const results = await this.#guard('a timeline write', () => this.#sender.send(calls))
    if (!report) return undefined
    const fresh: string[] = []
    parts.forEach((part, i) => {
      for (const at of results[i] as number[]) fresh.push(part.feeds[at - 1])
    })
    return fresh
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
        `Redis at ${this.location} failed ${what}: ${redisFailure(this.#client, error, this.location)}${what.endsWith('write') ? '; nothing was committed, retry it' : ''}`,
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
