/** The timelines part of the memory store: entries, flat pages and group pages with marks. */
import { checkWindow } from '../shared/window.js'
import type {
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  TimelineStore,
} from '../store.js'
import type { Activities } from './activities.js'
import { markGroups } from './groups.js'
import type { MemoryRuntime } from './memory-runtime.js'
import { newestEntries, readFlat, readGroupPage } from './timeline-reads.js'
import type { Timelines } from './timelines.js'

/** Timelines and groups of the memory store. */
export class MemoryTimelineStore implements TimelineStore {
  readonly #rt: MemoryRuntime
  readonly #timelines: Timelines
  readonly #bodyOf: (sk: string) => string

  constructor(rt: MemoryRuntime, timelines: Timelines, activities: Activities) {
    this.#rt = rt
    this.#timelines = timelines
    this.#bodyOf = (sk) => activities.body(sk) ?? 'null'
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#rt.check()
    const out = new Map<string, { origin: string | null }>()
    const entries = this.#timelines.get(feed)?.entries
    if (!entries) return out
    for (const sk of sks) {
      const entry = entries.get(sk)
      if (entry) out.set(sk, { origin: entry.origin })
    }
    return out
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#rt.check()
    checkWindow(page.limit, page.offset)
    return readFlat(this.#timelines.get(feed), page, this.#bodyOf)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#rt.check()
    checkWindow(limit, 0)
    return newestEntries(this.#timelines.get(feed), limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options: GroupReadOptions = {},
  ): Promise<GroupPage> {
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    const read = () => {
      const t = this.#timelines.get(feed)
      const out: GroupPage = { groups: readGroupPage(t, page, perGroup, this.#bodyOf) }
      // Counts as before the marks; both are set sizes, so O(1).
      if (options.counts) {
        out.unseen = t?.unseen.size ?? 0
        out.unread = t?.unread.size ?? 0
      }
      if (t && options.seen) markGroups(t, 'unseen', options.seen, this.#rt.undo)
      if (t && options.read) markGroups(t, 'unread', options.read, this.#rt.undo)
      return out
    }
    if (options.seen || options.read) return this.#rt.atomic(read)
    this.#rt.check()
    return read()
  }
}
