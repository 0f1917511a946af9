/**
 * The in-memory store: the executable reference for the seam in `store.ts`. Nothing is kept
 * across processes; every method runs synchronously, so each call is trivially atomic.
 */
import { idToSk, skToId } from '../../engine/ids.js'
import { closedError } from '../closed.js'
import type {
  ChunkBuilder,
  DocRow,
  EntryRemove,
  EntryWrite,
  FanoutJob,
  FanoutStart,
  FlatEntry,
  FollowEdge,
  FollowQuery,
  FollowRow,
  GroupRow,
  MarkTarget,
  PageQuery,
  Store,
  StoredActivity,
  WriteBatch,
} from '../store.js'
import { WriteConflict } from '../store.js'

interface Entry {
  sk: string
  origin: string | null
  group?: string
  actor?: string
}

interface Group {
  id: string
  group: string
  sks: Set<string>
  actors: Map<string, number>
  firstSk: string
  lastSk: string
  seen: boolean
  read: boolean
}

interface Timeline {
  entries: Map<string, Entry>
  /** Sort keys, ascending; kept sorted on insert. */
  order: string[]
  groups: Map<string, Group>
}

/** Index of the first element of `sorted` that is >= `key`. */
function lowerBound(sorted: string[], key: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Applies lt/lte/gt/gte, offset and limit to keys sorted descending. */
function window<T>(
  items: T[],
  keyOf: (item: T) => string,
  page: PageQuery,
  resolve: (c: string) => string | undefined,
): T[] {
  const lt = page.lt !== undefined ? resolve(page.lt) : undefined
  const lte = page.lte !== undefined ? resolve(page.lte) : undefined
  const gt = page.gt !== undefined ? resolve(page.gt) : undefined
  const gte = page.gte !== undefined ? resolve(page.gte) : undefined
  const kept = items.filter((item) => {
    const k = keyOf(item)
    return (
      (lt === undefined || k < lt) &&
      (lte === undefined || k <= lte) &&
      (gt === undefined || k > gt) &&
      (gte === undefined || k >= gte)
    )
  })
  return kept.slice(page.offset, page.offset + page.limit)
}

/** A store that keeps everything in process memory. */
export class MemoryStore implements Store {
  readonly name = 'memory'
  #activities = new Map<string, string>()
  #foreignIds = new Map<string, string>() // sk -> foreign_id
  #timelines = new Map<string, Timeline>()
  #follows = new Map<string, FollowRow>() // key `${source}|${target}`
  #followSeq = new Map<string, number>()
  #seq = 0
  #jobs = new Map<string, FanoutJob>()
  #docs = new Map<string, DocRow>()
  #closed = false
  /** Undo steps of the write in progress: each write is all-or-nothing, as the seam requires. */
  #undo: (() => void)[] | undefined
  #saved = new Set<string>()

  /** Records how to restore `key` of `map` before its first change in this write. */
  #save<K, V>(name: string, map: Map<K, V>, key: K, clone: (v: V) => V = (v) => v): void {
    if (!this.#undo || this.#saved.has(`${name}\u0000${String(key)}`)) return
    this.#saved.add(`${name}\u0000${String(key)}`)
    if (map.has(key)) {
      const before = clone(map.get(key) as V)
      this.#undo.push(() => map.set(key, before))
    } else this.#undo.push(() => map.delete(key))
  }

  /** Runs `fn` as one atomic write: on a throw every change it made is undone. */
  #atomic<T>(fn: () => T): T {
    this.#check()
    this.#undo = []
    this.#saved.clear()
    const seq = this.#seq
    try {
      return fn()
    } catch (error) {
      for (const step of this.#undo.reverse()) step()
      this.#seq = seq
      throw error
    } finally {
      this.#undo = undefined
      this.#saved.clear()
    }
  }

  #touch(feed: string): void {
    this.#save('timeline', this.#timelines, feed, (t) => structuredClone(t))
  }

  #timeline(feed: string): Timeline {
    this.#touch(feed)
    let t = this.#timelines.get(feed)
    if (!t) {
      t = { entries: new Map(), order: [], groups: new Map() }
      this.#timelines.set(feed, t)
    }
    return t
  }

  #check(): void {
    if (this.#closed) throw closedError(this.name)
  }

  #add(w: EntryWrite): void {
    const t = this.#timeline(w.feed)
    if (t.entries.has(w.sk)) return
    const grouped = w.kind !== 'flat'
    const entry: Entry = { sk: w.sk, origin: w.origin }
    if (grouped) {
      entry.group = w.group ?? ''
      entry.actor = w.actor ?? ''
    }
    t.entries.set(w.sk, entry)
    t.order.splice(lowerBound(t.order, w.sk), 0, w.sk)
    if (!grouped) return
    const key = entry.group!
    let g = t.groups.get(key)
    if (!g) {
      g = {
        id: skToId(w.sk),
        group: key,
        sks: new Set(),
        actors: new Map(),
        firstSk: w.sk,
        lastSk: w.sk,
        seen: false,
        read: false,
      }
      t.groups.set(key, g)
    }
    g.sks.add(w.sk)
    g.actors.set(entry.actor!, (g.actors.get(entry.actor!) ?? 0) + 1)
    if (w.sk < g.firstSk) g.firstSk = w.sk
    if (w.sk > g.lastSk) g.lastSk = w.sk
    g.seen = false
    g.read = false
  }

  #remove(feed: string, sk: string, origin?: string): void {
    this.#touch(feed)
    const t = this.#timelines.get(feed)
    const entry = t?.entries.get(sk)
    if (!t || !entry) return
    if (origin !== undefined && entry.origin !== origin) return
    t.entries.delete(sk)
    const i = lowerBound(t.order, sk)
    if (t.order[i] === sk) t.order.splice(i, 1)
    if (entry.group === undefined) return
    const g = t.groups.get(entry.group)
    if (!g) return
    g.sks.delete(sk)
    const n = (g.actors.get(entry.actor!) ?? 1) - 1
    if (n <= 0) g.actors.delete(entry.actor!)
    else g.actors.set(entry.actor!, n)
    if (g.sks.size === 0) {
      t.groups.delete(entry.group)
      return
    }
    const sks = [...g.sks].sort()
    g.firstSk = sks[0]
    g.lastSk = sks[sks.length - 1]
  }

  #trim(feed: string, maxLength: number, grouped: boolean): void {
    const t = this.#timelines.get(feed)
    if (!t) return
    if (!grouped) {
      while (t.order.length > maxLength) this.#remove(feed, t.order[0])
      return
    }
    if (t.groups.size <= maxLength) return
    const groups = [...t.groups.values()].sort((a, b) => (a.lastSk < b.lastSk ? 1 : -1))
    for (const g of groups.slice(maxLength)) for (const sk of [...g.sks]) this.#remove(feed, sk)
  }

  #apply(batch: {
    add?: EntryWrite[]
    remove?: EntryRemove[]
    removeByOrigin?: WriteBatch['removeByOrigin']
  }): void {
    const trims = new Map<string, { max: number; grouped: boolean }>()
    for (const w of batch.add ?? []) {
      this.#add(w)
      if (w.maxLength === undefined) continue
      // Several lengths for one feed in a batch: the smallest wins, so no cap is exceeded.
      const seen = trims.get(w.feed)
      if (!seen || w.maxLength < seen.max) trims.set(w.feed, { max: w.maxLength, grouped: w.kind !== 'flat' })
    }
    for (const r of batch.remove ?? []) this.#remove(r.feed, r.sk, r.origin)
    for (const { feed, origin } of batch.removeByOrigin ?? []) {
      const t = this.#timelines.get(feed)
      if (!t) continue
      for (const e of [...t.entries.values()]) if (e.origin === origin) this.#remove(feed, e.sk)
    }
    for (const [feed, { max, grouped }] of trims) this.#trim(feed, max, grouped)
  }

  #followersAfter(feed: string, cursor: string | null, limit: number): string[] {
    const out: string[] = []
    for (const row of this.#follows.values()) {
      if (row.target === feed && (cursor === null || row.source > cursor)) out.push(row.source)
    }
    return out.sort().slice(0, limit)
  }

  #setJob(job: FanoutJob | null, id: string): void {
    this.#save('job', this.#jobs, id)
    if (job) this.#jobs.set(id, job)
    else this.#jobs.delete(id)
  }

  #chunk(job: FanoutJob, build: ChunkBuilder, chunkSize: number): FanoutJob | null {
    const followers = this.#followersAfter(job.feed, job.cursor, chunkSize)
    if (followers.length > 0) this.#apply(build({ ...job }, followers))
    const next = followers.length < chunkSize ? null : { ...job, cursor: followers[followers.length - 1] }
    this.#setJob(next, job.id)
    return next
  }

  /** Starts a job: it supersedes pending jobs for the same feed and activity (it reaches every follower again). */
  #start(job: FanoutJob, build: ChunkBuilder, chunkSize: number): FanoutJob | null {
    for (const other of [...this.#jobs.values()]) {
      if (other.id !== job.id && other.feed === job.feed && other.sk === job.sk) this.#setJob(null, other.id)
    }
    return this.#chunk(job, build, chunkSize)
  }

  async write(batch: WriteBatch, fanout?: FanoutStart): Promise<FanoutJob[]> {
    return this.#atomic(() => {
      for (const e of batch.expect ?? []) {
        if ((this.#activities.get(e.sk) ?? null) !== e.body) throw new WriteConflict(e.sk)
      }
      for (const a of batch.activities ?? []) {
        this.#save('activity', this.#activities, a.sk)
        this.#save('foreignId', this.#foreignIds, a.sk)
        this.#activities.set(a.sk, a.body)
        if (a.foreignId) this.#foreignIds.set(a.sk, a.foreignId)
        else this.#foreignIds.delete(a.sk)
      }
      const now = new Date().toISOString()
      for (const e of batch.follow ?? []) {
        const key = `${e.source}|${e.target}`
        this.#save('follow', this.#follows, key)
        this.#save('followSeq', this.#followSeq, key)
        const existing = this.#follows.get(key)
        this.#follows.set(key, {
          source: e.source,
          target: e.target,
          created_at: existing?.created_at ?? now,
          updated_at: now,
        })
        if (!existing) this.#followSeq.set(key, ++this.#seq)
      }
      for (const e of batch.unfollow ?? []) {
        const key = `${e.source}|${e.target}`
        this.#save('follow', this.#follows, key)
        this.#save('followSeq', this.#followSeq, key)
        this.#follows.delete(key)
        this.#followSeq.delete(key)
      }
      this.#apply(batch)
      for (const copy of batch.copies ?? []) {
        const sks = this.#newest(copy.target, copy.limit)
        const bodies = sks.flatMap((sk) => {
          const body = this.#activities.get(sk)
          return body === undefined ? [] : [{ sk, body: copy.withBodies ? body : '' }]
        })
        this.#apply({ add: copy.build(bodies) })
      }
      const pending: FanoutJob[] = []
      for (const job of fanout?.jobs ?? []) {
        const next = this.#start(job, fanout!.build, fanout!.chunkSize)
        if (next) pending.push({ ...next })
      }
      return pending
    })
  }

  async runFanout(job: FanoutJob, build: ChunkBuilder, chunkSize: number): Promise<FanoutJob | null> {
    return this.#atomic(() => {
      // The stored job is the truth: its cursor wins, and a job whose row is gone is finished or
      // superseded (unless it never ran, which starts it).
      const stored = this.#jobs.get(job.id)
      if (!stored) return job.cursor === null ? this.#start(job, build, chunkSize) : null
      const next = this.#chunk(stored, build, chunkSize)
      return next ? { ...next } : null
    })
  }

  async pendingFanout(): Promise<FanoutJob[]> {
    this.#check()
    return [...this.#jobs.values()].map((j) => ({ ...j }))
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#check()
    const out = new Map<string, StoredActivity>()
    for (const sk of sks) {
      const body = this.#activities.get(sk)
      if (body !== undefined) out.set(sk, { sk, body })
    }
    return out
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#check()
    const t = this.#timelines.get(feed)
    if (!t || foreignId === '') return []
    return t.order.filter((sk) => this.#foreignIds.get(sk) === foreignId).reverse()
  }

  async getEntry(feed: string, sk: string): Promise<{ origin: string | null } | undefined> {
    this.#check()
    const e = this.#timelines.get(feed)?.entries.get(sk)
    return e ? { origin: e.origin } : undefined
  }

  #flat(t: Timeline, sk: string): FlatEntry {
    return { sk, origin: t.entries.get(sk)!.origin, body: this.#activities.get(sk) ?? 'null' }
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#check()
    const t = this.#timelines.get(feed)
    if (!t) return []
    const desc = [...t.order].reverse()
    return window(
      desc,
      (sk) => sk,
      page,
      (c) => c,
    ).map((sk) => this.#flat(t, sk))
  }

  #newest(feed: string, limit: number): string[] {
    const t = this.#timelines.get(feed)
    if (!t || limit <= 0) return []
    return t.order.slice(-limit).reverse()
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#check()
    return this.#newest(feed, limit)
  }

  async readGroups(feed: string, page: PageQuery, perGroup: number): Promise<GroupRow[]> {
    this.#check()
    const t = this.#timelines.get(feed)
    if (!t) return []
    const groups = [...t.groups.values()].sort((a, b) => (a.lastSk < b.lastSk ? 1 : -1))
    const resolve = (id: string) => groups.find((g) => g.id === id)?.lastSk ?? idToSk(id)
    return window(groups, (g) => g.lastSk, page, resolve).map((g) => ({
      id: g.id,
      group: g.group,
      firstSk: g.firstSk,
      lastSk: g.lastSk,
      activity_count: g.sks.size,
      actor_count: g.actors.size,
      is_seen: g.seen,
      is_read: g.read,
      activities: [...g.sks]
        .sort()
        .reverse()
        .slice(0, perGroup)
        .map((sk) => this.#flat(t, sk)),
    }))
  }

  async groupCounts(feed: string): Promise<{ unseen: number; unread: number }> {
    this.#check()
    let unseen = 0
    let unread = 0
    for (const g of this.#timelines.get(feed)?.groups.values() ?? []) {
      if (!g.seen) unseen++
      if (!g.read) unread++
    }
    return { unseen, unread }
  }

  async markGroups(feed: string, seen?: MarkTarget, read?: MarkTarget): Promise<void> {
    this.#check()
    for (const g of this.#timelines.get(feed)?.groups.values() ?? []) {
      if (seen === true || seen?.includes(g.id)) g.seen = true
      if (read === true || read?.includes(g.id)) g.read = true
    }
  }

  #listFollows(match: (row: FollowRow) => string | undefined, query: FollowQuery): FollowRow[] {
    const rows: { row: FollowRow; seq: number }[] = []
    for (const [key, row] of this.#follows) {
      const other = match(row)
      if (other === undefined) continue
      if (query.filter && query.filter.length > 0 && !query.filter.includes(other)) continue
      rows.push({ row, seq: this.#followSeq.get(key) ?? 0 })
    }
    rows.sort((a, b) => b.seq - a.seq)
    return rows.slice(query.offset, query.offset + query.limit).map((r) => ({ ...r.row }))
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    return this.#listFollows((r) => (r.target === feed ? r.source : undefined), query)
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    return this.#listFollows((r) => (r.source === feed ? r.target : undefined), query)
  }

  async countFollows(feed: string, direction: 'followers' | 'following', slugs?: string[]): Promise<number> {
    this.#check()
    let n = 0
    for (const row of this.#follows.values()) {
      const [mine, other] = direction === 'followers' ? [row.target, row.source] : [row.source, row.target]
      if (mine !== feed) continue
      if (slugs && slugs.length > 0 && !slugs.includes(other.slice(0, other.indexOf(':')))) continue
      n++
    }
    return n
  }

  async getDocs(kind: string, ids: string[]): Promise<DocRow[]> {
    this.#check()
    const out: DocRow[] = []
    for (const id of ids) {
      const doc = this.#docs.get(`${kind}|${id}`)
      if (doc) out.push(structuredClone(doc))
    }
    return out
  }

  async putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: 'insert' | 'update' | 'upsert',
  ): Promise<DocRow | undefined> {
    this.#check()
    const key = `${kind}|${id}`
    const existing = this.#docs.get(key)
    if ((mode === 'insert' && existing) || (mode === 'update' && !existing)) return undefined
    const now = new Date().toISOString()
    const doc: DocRow = {
      kind,
      id,
      data: structuredClone(data),
      created_at: existing?.created_at ?? now,
      updated_at: now,
    }
    this.#docs.set(key, doc)
    return structuredClone(doc)
  }

  async deleteDocs(kind: string, ids: string[]): Promise<number> {
    this.#check()
    let n = 0
    for (const id of ids) if (this.#docs.delete(`${kind}|${id}`)) n++
    return n
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /** Follow edges, for tests: `source|target` keys. */
  debugFollows(): FollowEdge[] {
    return [...this.#follows.values()].map(({ source, target }) => ({ source, target }))
  }
}
