/** The activities part of the memory store: bodies by sort key, lookups by foreign_id. */
import type { ActivityStore, StoredActivity } from '../store.js'
import type { Activities } from './activities.js'
import type { MemoryRuntime } from './memory-runtime.js'
import type { Timelines } from './timelines.js'

/** Activity bodies of the memory store. */
export class MemoryActivityStore implements ActivityStore {
  readonly #rt: MemoryRuntime
  readonly #activities: Activities
  readonly #timelines: Timelines

  constructor(rt: MemoryRuntime, activities: Activities, timelines: Timelines) {
    this.#rt = rt
    this.#activities = activities
    this.#timelines = timelines
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#rt.check()
    return this.#activities.get(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#rt.check()
    return this.#activities.findIn(this.#timelines.get(feed), foreignId)
  }
}
