/**
 * Realtime: the engine's feed event bus (`engine.events`). Every change to a feed (add, remove,
 * fan-out delivery, a reaction's target-feed activity, notification marks) becomes Stream's
 * realtime message for that feed (stream-api.md §3.8), built in one place (`observe.ts`, which
 * watches the engine's store writes) and handed to a {@link FeedEventTransport}.
 *
 * The transport is the seam for several server instances: the default delivers in process; a
 * shared one (Redis pub/sub: `RedisFeedTransport` in `eddy/redis`) publishes each message to every
 * instance and reports the feeds any instance listens to, and nothing else changes. Messages are
 * built only for listened feeds.
 */
import type { Activity } from './activity.js'

/** Stream's realtime message for one feed (`feed` is `slug:userId`). */
export interface FeedMessage {
  deleted: string[]
  /** `[foreign_id, time]` of each removed activity that has a foreign_id. */
  deleted_foreign_ids: [string, string][]
  /**
   * `[id, v3_id]` of each removed activity that has an id of its own from Feeds V3 (its `v3_id`),
   * so V3 deletion events name it as V3 clients know it. Not part of Stream's V1 message.
   */
  deleted_v3_ids?: [string, string][]
  /** Added activities (with `group`, the group id, on aggregated and notification feeds). */
  new: Activity[]
  feed: string
  app_id: string
  published_at: string
  /** Marks applied by a read: true (all) or group ids. */
  mark_seen?: true | string[]
  mark_read?: true | string[]
  /** Notification feeds: exact unseen and unread group counts after the change. */
  unseen?: number
  unread?: number
  /** Feeds V3 events riding the same bus and transport (published under `v3~<fid>`; see src/v3/hub.ts). */
  v3?: Record<string, unknown>[]
}

/** Receives the messages of a feed; its errors are ignored (the change has committed). */
export type FeedListener = (message: FeedMessage) => void

/**
 * Carries messages between the engines that change feeds and the listeners. `publish` takes
 * each message built here and must eventually call `deliver` with it (on every instance, for a
 * shared transport); `listening` adds feeds listened to elsewhere to this instance's own (called
 * on every write: return the same Set until it changes, it is then used without a copy);
 * `listened` is told when this instance starts listening to a feed, so a shared transport can
 * announce it to the others at once.
 */
export interface FeedEventTransport {
  publish(message: FeedMessage, deliver: (message: FeedMessage) => void): void
  listening?(): Iterable<string>
  listened?(feed: string): void
}

/** The default transport: messages go straight to this process's listeners. */
export const LOCAL_TRANSPORT: FeedEventTransport = {
  publish: (message, deliver) => deliver(message),
}

/** The engine's feed event bus; see the module comment. */
export class FeedEvents {
  /** The `app_id` messages carry (the Faye endpoint sets each channel's own). */
  appId = ''
  /** Where messages go (default: this process); set before listeners attach. */
  transport: FeedEventTransport = LOCAL_TRANSPORT
  readonly #byFeed = new Map<string, Set<FeedListener>>()

  /** Calls `listener` with every message of `feed` (`slug:userId`); returns the unsubscribe function. */
  listen(feed: string, listener: FeedListener): () => void {
    const known = this.#byFeed.get(feed)
    const set = known ?? new Set<FeedListener>()
    if (!known) {
      this.#byFeed.set(feed, set)
      try {
        this.transport.listened?.(feed)
      } catch {
        // Announcing is best effort: this instance's own listeners are not affected.
      }
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.#byFeed.get(feed) === set) this.#byFeed.delete(feed)
    }
  }

  /** Whether any feed is listened to (else writes skip building messages entirely). */
  get active(): boolean {
    return this.#byFeed.size > 0 || this.transport.listening !== undefined
  }

  /** Whether messages for `feed` are wanted. */
  wants(feed: string): boolean {
    return this.#byFeed.has(feed) || (this.transport.listening !== undefined && this.#remote().has(feed))
  }

  /** Every listened feed, here and (through the transport) elsewhere. */
  listening(): string[] {
    if (this.transport.listening === undefined) return [...this.#byFeed.keys()]
    return [...new Set([...this.#byFeed.keys(), ...this.#remote()])]
  }

  /** The feeds listened to in this process only (a shared transport keeps announcing them). */
  listenedHere(): string[] {
    return [...this.#byFeed.keys()]
  }

  #remote(): ReadonlySet<string> {
    const remote = this.transport.listening?.() ?? []
    return remote instanceof Set ? remote : new Set(remote)
  }

  /** Publishes `message` through the transport. */
  publish(message: FeedMessage): void {
    this.transport.publish(message, (m) => this.deliver(m))
  }

  /** Hands `message` to this process's listeners of its feed (transports call this). */
  deliver(message: FeedMessage): void {
    const listeners = this.#byFeed.get(message.feed)
    if (!listeners) return
    for (const listener of [...listeners]) {
      try {
        listener(message)
      } catch {
        // A listener must not affect the others or the write that already committed.
      }
    }
  }
}
