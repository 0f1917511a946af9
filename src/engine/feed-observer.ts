/**
 * Builds realtime messages from what the engine writes, in one place: the engine's
 * `RuntimeStorage` reports to a {@link FeedObserver} after each commit, so every write (adds, removes, `to` targets, addToMany, a
 * reaction's target-feed activity), every fan-out chunk (inline first chunks and the runner's or
 * a worker's later ones) and every notification mark is seen here after it commits, whichever
 * engine method made it. Stores stay unaware of the engine: a chunk's follower feeds are those
 * the store reports through `runFanout`'s `delivered` (PostgreSQL and Redis: exactly the feeds
 * that gained the entry, whatever order the walk takes), else the listened feeds that follow the
 * job's feed between the cursors before and after the chunk (stores that walk by name).
 * Follow copies and unfollow removals publish nothing, as on Stream.
 */
import type { FanoutJob, GroupReadOptions, StorageAdapter, WriteBatch } from '../store/store.js'
import { type Activity, readActivity } from './activity.js'
import type { FeedEvents, FeedMessage } from './events.js'
import type { FeedGroup } from './feed-groups.js'
import { skToId } from './ids.js'

interface Change {
  added: { sk: string; origin: string | null; group?: string }[]
  removed: string[]
  marks?: GroupReadOptions
}

/** Turns committed writes, fan-out chunks and marks into realtime messages for `events`. */
export class FeedObserver {
  /** Where messages go: `active` and `wants(feed)` say whether anyone listens. */
  readonly events: FeedEvents
  readonly #store: StorageAdapter
  readonly #groups: Map<string, FeedGroup>

  /** `store` is read for bodies, followers and counts (it must not report to this observer again). */
  constructor(store: StorageAdapter, events: FeedEvents, groups: Map<string, FeedGroup>) {
    this.#store = store
    this.events = events
    this.#groups = groups
  }

  /** Reports a committed write `batch` that left the jobs `pending`. */
  afterWrite(batch: WriteBatch, pending: FanoutJob[]): void {
    const changes = new Map<string, Change>()
    for (const e of batch.add ?? []) {
      if (this.events.wants(e.feed))
        change(changes, e.feed).added.push({ sk: e.sk, origin: e.origin, group: e.groupId })
    }
    for (const r of batch.remove ?? []) {
      if (this.events.wants(r.feed)) change(changes, r.feed).removed.push(r.sk)
    }
    const bodies = new Map((batch.activities ?? []).map((a) => [a.sk, a.body]))
    const report = this.report(changes, bodies)
    // Jobs the write ran first chunks of: those it did not hand back finished inside it.
    const left = new Map(pending.map((j) => [j.id, j]))
    const chunks = (batch.fanout ?? []).map((job) => {
      const after = left.get(job.id)
      return after?.cursor === null ? undefined : this.afterChunk(job, null, after?.cursor ?? null, !after)
    })
    void Promise.all([report, ...chunks])
  }

  /** Reports a chunk of `job` that changed the listened follower feeds `feeds`. */
  async afterDelivery(job: FanoutJob, feeds: string[]): Promise<void> {
    try {
      await this.report(this.#chunkChanges(job, feeds))
    } catch {
      // Realtime is best effort: the change itself has committed.
    }
  }

  /** Reports a chunk of `job` that handled the followers after `from` up to `to` (or all, `done`). */
  async afterChunk(job: FanoutJob, from: string | null, to: string | null, done: boolean): Promise<void> {
    try {
      const listened = this.events.listening()
      if (listened.length === 0 || (!done && to === null)) return
      const rows = await this.#store.follows.followers(job.feed, {
        limit: listened.length,
        offset: 0,
        filter: listened,
      })
      const feeds = rows
        .map((r) => r.source)
        .filter((source) => !((from !== null && source <= from) || (!done && to !== null && source > to)))
      await this.report(this.#chunkChanges(job, feeds))
    } catch {
      // Realtime is best effort: the change itself has committed.
    }
  }

  /** What a chunk of `job` did to each of `feeds`: the entry added (shaped per slug) or removed. */
  #chunkChanges(job: FanoutJob, feeds: string[]): Map<string, Change> {
    const changes = new Map<string, Change>()
    for (const feed of feeds) {
      if (job.op === 'remove') change(changes, feed).removed.push(job.sk)
      else {
        const slug = feed.slice(0, feed.indexOf(':'))
        // Own keys only: a slug such as `constructor` must not find Object's.
        const shape = job.shapes && Object.hasOwn(job.shapes, slug) ? job.shapes[slug] : undefined
        if (shape) change(changes, feed).added.push({ sk: job.sk, origin: job.feed, group: shape.groupId })
      }
    }
    return changes
  }

  /** Builds and publishes one message per changed feed. */
  /** Reports marks applied by a group read of `feed`. */
  afterMarks(feed: string, marks: GroupReadOptions): void {
    void this.report(new Map([[feed, { added: [], removed: [], marks }]]))
  }

  async report(changes: Map<string, Change>, bodies = new Map<string, string>()): Promise<void> {
    if (changes.size === 0) return
    try {
      const missing = new Set<string>()
      for (const c of changes.values())
        for (const sk of [...c.added.map((a) => a.sk), ...c.removed]) if (!bodies.has(sk)) missing.add(sk)
      if (missing.size > 0)
        for (const [sk, row] of await this.#store.activities.getActivities([...missing]))
          bodies.set(sk, row.body)
      for (const [feed, c] of changes) this.events.publish(await this.#message(feed, c, bodies))
    } catch {
      // Realtime is best effort: the change itself has committed.
    }
  }

  async #message(feed: string, c: Change, bodies: Map<string, string>): Promise<FeedMessage> {
    const added: Activity[] = []
    for (const a of c.added) {
      const body = bodies.get(a.sk)
      if (body === undefined) continue
      const activity = readActivity(body, a.origin)
      if (a.group !== undefined) activity.group = a.group
      added.push(activity)
    }
    const deletedForeign: [string, string][] = []
    const deletedV3: [string, string][] = []
    for (const sk of c.removed) {
      const body = bodies.get(sk)
      const old = body === undefined ? undefined : (JSON.parse(body) as Activity)
      if (old?.foreign_id) deletedForeign.push([old.foreign_id, old.time])
      if (typeof old?.v3_id === 'string') deletedV3.push([skToId(sk), old.v3_id])
    }
    const message: FeedMessage = {
      deleted: c.removed.map(skToId),
      deleted_foreign_ids: deletedForeign,
      new: added,
      feed,
      app_id: this.events.appId,
      published_at: new Date().toISOString(),
    }
    if (deletedV3.length > 0) message.deleted_v3_ids = deletedV3
    if (c.marks?.seen) message.mark_seen = c.marks.seen
    if (c.marks?.read) message.mark_read = c.marks.read
    const group = this.#groups.get(feed.slice(0, feed.indexOf(':')))
    if (group?.kind === 'notification') {
      const page = await this.#store.timelines.readGroups(feed, { limit: 0, offset: 0 }, 1, { counts: true })
      message.unseen = page.unseen ?? 0
      message.unread = page.unread ?? 0
    }
    return message
  }
}

function change(changes: Map<string, Change>, feed: string): Change {
  const found = changes.get(feed)
  if (found) return found
  const c: Change = { added: [], removed: [] }
  changes.set(feed, c)
  return c
}
