/**
 * The feed engine: every rule of Stream's Feeds v1 semantics over a {@link Store}. The
 * getstream-shaped client and the HTTP server are thin layers over it.
 */
import type {
  EntryRemove,
  EntryWrite,
  FanoutJob,
  FollowCopy,
  FollowEdge,
  Store,
  WriteBatch,
} from '../store/store.js'
import { type Activity, type PreparedActivity, prepareActivity, readActivity } from './activity.js'
import { EddyError, inputError } from './errors.js'
import { chunkBuilder, DEFAULT_CHUNK_SIZE, entryFor, FanoutRunner, flatEntry, inSlices } from './fanout.js'
import {
  buildFeedGroups,
  type FeedGroup,
  type FeedGroupOptions,
  type FeedRef,
  feedRef,
  parseFeedId,
} from './feed-groups.js'
import { randomId } from './ids.js'
import { untilCommitted } from './optimistic.js'
import { requireOwnActivity, userActivityInput } from './policy.js'

/** Options for {@link Engine}. */
export interface EngineOptions {
  /** Feed groups, merged over the defaults (user, timeline, timeline_aggregated, notification). */
  feedGroups?: Record<string, FeedGroupOptions>
  /** Follower feeds written per fan-out transaction. */
  fanoutChunkSize?: number
}

/** Most activities one add, update or lookup call may carry. */
export const MAX_BATCH = 100
/** Most feeds `addToMany` may write to. */
export const MAX_ADD_TO_MANY = 5_000
/** Follow copy limit: default and maximum. */
export const DEFAULT_COPY_LIMIT = 100
export const MAX_COPY_LIMIT = 1_000

/** Checks an optional integer option and returns it or the default. */
export function intOption(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw inputError(`${field} must be an integer from ${min} to ${max}`, value, field)
  }
  return n
}

/** The engine: configured feed groups, a store and a fan-out runner. */
export class Engine {
  readonly store: Store
  readonly groups: Map<string, FeedGroup>
  readonly chunkSize: number
  readonly #fanout: FanoutRunner

  constructor(store: Store, options: EngineOptions = {}) {
    this.store = store
    this.groups = buildFeedGroups(options.feedGroups)
    this.chunkSize = intOption(options.fanoutChunkSize, 'fanoutChunkSize', 1, 100_000, DEFAULT_CHUNK_SIZE)
    this.#fanout = new FanoutRunner(store, this.groups, this.chunkSize, (sks) => this.loadActivities(sks))
  }

  /** Resumes fan-out that an earlier process accepted but did not finish. */
  resume(): Promise<void> {
    return this.#fanout.resume()
  }

  /** Resolves once every accepted fan-out has been delivered. */
  flush(): Promise<void> {
    return this.#fanout.idle()
  }

  /** Validates `slug` and `userId`. */
  feed(slug: unknown, userId: unknown): FeedRef {
    return feedRef(this.groups, slug, userId)
  }

  /** Parses a `slug:userId` feed id. */
  parseFeed(value: unknown, field?: string): FeedRef {
    return parseFeedId(this.groups, value, field)
  }

  /** Activities by sort key, parsed (origin null). */
  async loadActivities(sks: string[]): Promise<Map<string, Activity>> {
    const rows = await this.store.getActivities(sks)
    const out = new Map<string, Activity>()
    for (const [sk, row] of rows) out.set(sk, readActivity(row.body, null))
    return out
  }

  /** Activities by sort key with their stored text, for writes that `expect` it unchanged. */
  async loadStored(sks: string[]): Promise<Map<string, { body: string; activity: Activity }>> {
    const rows = await this.store.getActivities(sks)
    const out = new Map<string, { body: string; activity: Activity }>()
    for (const [sk, row] of rows) out.set(sk, { body: row.body, activity: readActivity(row.body, null) })
    return out
  }

  /**
   * Stores new bodies for existing activities (same ids, same feeds), each only if its stored
   * text is still `previous`; otherwise throws WriteConflict and writes nothing.
   */
  async writeBodies(updates: { prepared: PreparedActivity; previous: string }[]): Promise<void> {
    await this.store.write({
      expect: updates.map((u) => ({ sk: u.prepared.sk, body: u.previous })),
      activities: updates.map(({ prepared: p }) => ({
        sk: p.sk,
        body: p.body,
        foreignId: p.activity.foreign_id,
      })),
    })
  }

  /** Writes `batch` and starts the given fan-out jobs, queueing what the write left pending. */
  async #write(batch: WriteBatch, jobs: FanoutJob[], activities: Map<string, Activity>): Promise<void> {
    // The jobs' first chunks share one chunk's budget: a batch of 100 activities to a feed with
    // 50,000 followers then writes ~chunkSize entries inline, not 100 chunks, and leaves the rest
    // to the background runner, which yields between chunks.
    const chunkSize = Math.max(1, Math.floor(this.chunkSize / jobs.length))
    const fanout =
      jobs.length > 0 ? { jobs, build: chunkBuilder(this.groups, activities), chunkSize } : undefined
    const pending = await this.store.write(batch, fanout)
    this.#fanout.enqueue(pending)
  }

  /**
   * Adds activities to `feed`, its `to` targets and (through fan-out) their followers. With
   * `user` (a user acting as themself), each activity's actor must be that user, `to` may name
   * only its own or notification feeds, and re-adding a foreign_id + time replaces an activity
   * only if that user wrote it; the check and the write are one optimistic step.
   */
  async addActivities(feed: FeedRef, inputs: unknown[], user?: string): Promise<Activity[]> {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw inputError('activities must be a non-empty list', inputs, 'activities')
    }
    if (inputs.length > MAX_BATCH)
      throw inputError(`at most ${MAX_BATCH} activities per call`, inputs.length, 'activities')
    const checked = user === undefined ? inputs : inputs.map((i) => userActivityInput(this.groups, user, i))
    const prepared = checked.map((input, i) =>
      prepareActivity(this.groups, input, inputs.length > 1 ? i : undefined),
    )
    const byKey = new Map<string, PreparedActivity>()
    for (const p of prepared) byKey.set(p.sk, p) // a repeated foreign_id + time: the last one wins
    if (user === undefined) await this.#addPrepared(feed, byKey)
    else {
      await untilCommitted(async () => {
        const existing = await this.loadStored([...byKey.keys()])
        for (const { activity } of existing.values()) requireOwnActivity(activity, user)
        const expect = [...byKey.keys()].map((sk) => ({ sk, body: existing.get(sk)?.body ?? null }))
        await this.#addPrepared(feed, byKey, expect)
      })
    }
    return prepared.map((p) => ({ ...p.activity }))
  }

  async #addPrepared(
    feed: FeedRef,
    byKey: Map<string, PreparedActivity>,
    expect?: WriteBatch['expect'],
  ): Promise<void> {
    const add: EntryWrite[] = []
    const jobs: FanoutJob[] = []
    const activities = new Map<string, Activity>()
    for (const p of byKey.values()) {
      activities.set(p.sk, p.activity)
      add.push(entryFor(feed.group, feed.id, p.sk, p.activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: feed.id, sk: p.sk, cursor: null })
      for (const target of p.to) {
        if (target.id === feed.id) continue
        add.push(entryFor(target.group, target.id, p.sk, p.activity, null))
        jobs.push({ id: randomId(), op: 'add', feed: target.id, sk: p.sk, cursor: null })
      }
    }
    await this.#write(
      {
        expect,
        activities: [...byKey.values()].map((p) => ({
          sk: p.sk,
          body: p.body,
          foreignId: p.activity.foreign_id,
        })),
        add,
      },
      jobs,
      activities,
    )
  }

  /**
   * Removes activities from `feed` and, through fan-out, from its followers, in one write.
   * Removing an activity from the feed it was added to also withdraws it from its `to` targets.
   * Activities the feed does not hold are skipped (as on Stream); resolves with how many it held.
   */
  async removeActivities(feed: FeedRef, sks: string[]): Promise<number> {
    const held: { sk: string; direct: boolean }[] = []
    for (const sk of new Set(sks)) {
      const entry = await this.store.getEntry(feed.id, sk)
      if (entry) held.push({ sk, direct: entry.origin === null })
    }
    if (held.length === 0) return 0
    // Only activities added here directly can carry `to` targets to withdraw: load just those,
    // and expect them unchanged, so a concurrent `to` change is not withdrawn from stale targets.
    await untilCommitted(async () => {
      const stored = await this.loadStored(held.filter((h) => h.direct).map((h) => h.sk))
      await this.#remove(feed, held, stored)
    })
    return held.length
  }

  async #remove(
    feed: FeedRef,
    held: { sk: string }[],
    stored: Map<string, { body: string; activity: Activity }>,
  ): Promise<void> {
    const remove: EntryRemove[] = []
    const jobs: FanoutJob[] = []
    for (const { sk } of held) {
      const to = stored.get(sk)?.activity.to ?? []
      const feeds = to.length > 0 && !to.includes(feed.id) ? [feed.id, ...to] : [feed.id]
      for (const target of feeds) {
        remove.push({ feed: target, sk })
        jobs.push({ id: randomId(), op: 'remove', feed: target, sk, cursor: null })
      }
    }
    const expect = [...stored].map(([sk, { body }]) => ({ sk, body }))
    await this.#write({ expect, remove }, jobs, new Map())
  }

  /** Removes every activity with `foreignId` from `feed`, as {@link removeActivities} does. */
  async removeByForeignId(feed: FeedRef, foreignId: string): Promise<number> {
    return this.removeActivities(feed, await this.store.findByForeignId(feed.id, foreignId))
  }

  /**
   * Makes `source` follow `target`, copying the newest `copyLimit` activities of the target. The
   * copy is read inside the follow's transaction, so a concurrent add reaches the new follower
   * either through the copy or through its fan-out.
   */
  async follow(pairs: { source: FeedRef; target: FeedRef }[], copyLimit: number): Promise<void> {
    const follow: FollowEdge[] = []
    const copies: FollowCopy[] = []
    for (const { source, target } of pairs) {
      if (target.group.kind !== 'flat') {
        throw inputError(
          `only flat feeds can be followed; ${target.slug} is ${target.group.kind}`,
          target.id,
          'target',
        )
      }
      if (source.id === target.id) throw inputError('a feed cannot follow itself', target.id, 'target')
      follow.push({ source: source.id, target: target.id })
      if (copyLimit === 0) continue
      copies.push({
        source: source.id,
        target: target.id,
        limit: copyLimit,
        // Flat feeds need only the sort keys; grouped feeds need the actor and the group key.
        withBodies: source.group.kind !== 'flat',
        build:
          source.group.kind === 'flat'
            ? (rows) => rows.map((row) => flatEntry(source.group, source.id, row.sk, target.id))
            : (rows) =>
                rows.map((row) =>
                  entryFor(source.group, source.id, row.sk, readActivity(row.body, null), target.id),
                ),
      })
    }
    // A long list is several writes (about chunkSize copied entries each, a turn of the event loop
    // between them). Each follow edge stays in the write with its copy, which is what keeps a
    // concurrent add from missing the new follower; the list as a whole is not atomic, and
    // following again is idempotent, so a retry after a failure completes it.
    const perWrite = this.chunkSize / Math.max(1, copyLimit)
    await inSlices(follow.length, perWrite, (from, to) =>
      this.store.write({ follow: follow.slice(from, to), copies: copies.slice(from, to) }),
    )
  }

  /** Removes follows; unless `keepHistory`, also the activities that came through them. */
  async unfollow(pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[]): Promise<void> {
    // Sliced like follow(): each pair's edge and its history removal stay in one write.
    await inSlices(pairs.length, this.chunkSize / DEFAULT_COPY_LIMIT, (from, to) => {
      const slice = pairs.slice(from, to)
      return this.store.write({
        unfollow: slice.map((p) => ({ source: p.source.id, target: p.target.id })),
        removeByOrigin: slice
          .filter((p) => !p.keepHistory)
          .map((p) => ({ feed: p.source.id, origin: p.target.id })),
      })
    })
  }

  /** Adds one activity to many feeds directly, without fan-out to their followers. */
  async addToMany(input: unknown, feeds: unknown): Promise<Activity> {
    if (!Array.isArray(feeds) || feeds.length === 0)
      throw inputError('feeds must be a non-empty list of feed ids', feeds, 'feeds')
    if (feeds.length > MAX_ADD_TO_MANY)
      throw inputError(`feeds may name at most ${MAX_ADD_TO_MANY} feeds`, feeds.length, 'feeds')
    if (input && typeof input === 'object' && 'to' in input && (input as { to?: unknown }).to !== undefined) {
      throw inputError(
        'addToMany does not accept to; list every feed in feeds',
        (input as { to: unknown }).to,
        'to',
      )
    }
    const p = prepareActivity(this.groups, input)
    const refs = new Map<string, FeedRef>()
    for (const f of feeds) {
      const ref = this.parseFeed(f, 'feeds')
      refs.set(ref.id, ref)
    }
    const add = [...refs.values()].map((ref) => entryFor(ref.group, ref.id, p.sk, p.activity, null))
    await this.store.write({
      activities: [{ sk: p.sk, body: p.body, foreignId: p.activity.foreign_id }],
      add,
    })
    return p.activity
  }

  /** Replaces stored bodies (same id, same feeds). `to` may not change. */
  async replaceActivities(prepared: PreparedActivity[]): Promise<void> {
    await untilCommitted(() => this.#replace(prepared))
  }

  async #replace(prepared: PreparedActivity[]): Promise<void> {
    const existing = await this.loadStored(prepared.map((p) => p.sk))
    for (const p of prepared) {
      const old = existing.get(p.sk)?.activity
      if (!old) {
        throw new EddyError(
          'DoesNotExistException',
          `no activity has foreign_id ${JSON.stringify(p.activity.foreign_id)} and time ${p.activity.time}`,
        )
      }
      const before = [...(old.to ?? [])].sort().join(',')
      const after = [...(p.activity.to ?? [])].sort().join(',')
      if (before !== after) {
        throw inputError(
          'to cannot be changed by an update; use updateActivityToTargets',
          p.activity.to ?? [],
          'to',
        )
      }
    }
    await this.writeBodies(prepared.map((p) => ({ prepared: p, previous: existing.get(p.sk)!.body })))
  }

  /**
   * Changes the `to` targets of an activity: adds it to new targets and withdraws it from old,
   * only if its stored text is still `previous` (else WriteConflict, nothing written).
   */
  async setTargets(
    activity: Activity,
    sk: string,
    added: FeedRef[],
    removed: FeedRef[],
    previous: string,
  ): Promise<void> {
    const add: EntryWrite[] = []
    const remove: EntryRemove[] = []
    const jobs: FanoutJob[] = []
    for (const t of added) {
      add.push(entryFor(t.group, t.id, sk, activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: t.id, sk, cursor: null })
    }
    for (const t of removed) {
      remove.push({ feed: t.id, sk })
      jobs.push({ id: randomId(), op: 'remove', feed: t.id, sk, cursor: null })
    }
    const body = JSON.stringify({ ...activity, origin: null })
    await this.#write(
      {
        expect: [{ sk, body: previous }],
        activities: [{ sk, body, foreignId: activity.foreign_id }],
        add,
        remove,
      },
      jobs,
      new Map([[sk, activity]]),
    )
  }

  /** Waits for pending fan-out, then closes the store. */
  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      this.#fanout.stop()
      await this.store.close()
    }
  }
}
