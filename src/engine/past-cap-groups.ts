/**
 * Grouped pages past a store's cap. A store that keeps only a feed's newest groups (Redis, `cap`)
 * reports a short page of a feed that reached the cap (`GroupPage.pastCap`) and hands out the
 * older entries it no longer holds (`Store.readPastCap`, newest first, fan-out on read); the
 * groups are built here, with the feed group's aggregation format, as fan-out would have built
 * them: one group per group key, named after its oldest activity, seen and read.
 *
 * Past the cap a group also ends at the UTC day, so that any page can be built from a bounded
 * read: the groups of one day need that day's entries only. A day holding more than
 * {@link BUCKET_LIMIT} entries past the cap is split into hours, an hour into minutes, and so on
 * (decided from the entries alone, so every page splits alike). With the default format
 * (`verb_day`) the groups are the ones an uncapped store shows, except that a group key Redis
 * still holds a group of shows once more past the cap (its older activities, if any).
 *
 * Cursors stay exact: an id names a group past the cap by its oldest activity; the page after it
 * holds the groups whose newest activity is older than that group's, built from the same buckets.
 */
import type {
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupRow,
  PastCapBound,
  PastCapSlice,
  Store,
} from '../store/store.js'
import { groupSource, readActivity } from './activity.js'
import { inputError } from './errors.js'
import { type FeedGroup, groupKeyIn } from './feed-groups.js'
import { SORT_KEY_LENGTH, skMicros, skToId, sortKey } from './ids.js'

/** Bucket widths in microseconds: a UTC day, an hour, a minute, a second, a microsecond. */
const LEVELS = [86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000, 1]
/** Most entries a bucket past the cap may hold before it is split into the next level's. */
export const BUCKET_LIMIT = 200
/** Entries asked of the store per read. */
export const READ_BATCH = 250
/**
 * Most entries one page may read past the cap: any page of up to 100 groups fits (100 buckets of
 * {@link BUCKET_LIMIT}, plus finding the cursor's bucket); deeper offsets over large groups fail.
 */
export const MAX_PAST_CAP_READ = 25_000

const ZEROS = '0'.repeat(SORT_KEY_LENGTH - 15)

/** The smallest sort key at or after `micros`. */
function skAt(micros: number): string {
  return sortKey(micros, ZEROS)
}

function bucketStart(sk: string, level: number): string {
  const width = LEVELS[level]
  return skAt(Math.floor(skMicros(sk) / width) * width)
}

function bucketEnd(sk: string, level: number): string {
  const width = LEVELS[level]
  return skAt((Math.floor(skMicros(sk) / width) + 1) * width)
}

/** `Store.readPastCap` for one feed. */
type ReadSlice = (below: string, limit: number, floor?: string) => Promise<PastCapSlice>

/** Entries past the cap, read in batches below a moving position and buffered (newest first). */
class Reader {
  readonly buffer: FlatEntry[] = []
  #position: string | undefined
  readonly #read: ReadSlice
  readonly #floor: string | undefined
  readonly #budget: Budget

  constructor(read: ReadSlice, top: string, budget: Budget, floor?: string) {
    this.#read = read
    this.#position = top
    this.#budget = budget
    this.#floor = floor
  }

  /** Reads until the buffer holds more than `count` entries at or after `from`, one before it, or all. */
  async fillFrom(from: string, count: number): Promise<number> {
    for (;;) {
      let within = 0
      while (within < this.buffer.length && this.buffer[within].sk >= from) within++
      if (within > count || within < this.buffer.length || this.#position === undefined) return within
      this.#budget.spend(READ_BATCH)
      const slice = await this.#read(this.#position, READ_BATCH, this.#floor)
      this.buffer.push(...slice.entries)
      this.#position = slice.next
    }
  }
}

/** Rows a page may still read; past that, a clear 400 rather than an unbounded read. */
class Budget {
  #left = MAX_PAST_CAP_READ

  spend(rows: number): void {
    if (this.#left < rows) {
      throw inputError(
        `this page would read more than ${MAX_PAST_CAP_READ} activities past the timeline cap; ask for fewer groups (limit) or a smaller offset, and page on with id_lt (the response's next link)`,
        MAX_PAST_CAP_READ,
        'offset',
      )
    }
    this.#left -= rows
  }
}

/** What a page past the cap asks: where to start, how many groups to skip and take, which bounds. */
interface Plan {
  group: FeedGroup
  perGroup: number
  skip: number
  take: number
  bound: PastCapBound
  /** Upper and lower cursors that reach past the cap (sort keys older than the held groups). */
  upper?: { sk: string; inclusive: boolean }
  lower?: { sk: string; inclusive: boolean }
}

/**
 * The groups past the cap that complete `page`, a short page a capped store returned for `query`;
 * resolves with the page, whose groups are then followed by them.
 */
export async function withPastCap(
  store: Store,
  feed: string,
  group: FeedGroup,
  query: GroupPageQuery,
  page: GroupPage,
): Promise<GroupPage> {
  const bound = page.pastCap
  const read = store.timelines.readPastCap?.bind(store.timelines)
  const out: GroupPage = { groups: page.groups }
  if (page.unseen !== undefined) out.unseen = page.unseen
  if (page.unread !== undefined) out.unread = page.unread
  if (!bound || !read || page.groups.length >= query.limit) return out
  const plan: Plan = {
    group,
    perGroup: group.maxActivitiesPerGroup,
    skip: Math.max(0, query.offset - bound.within),
    take: query.limit - page.groups.length,
    bound,
  }
  // A cursor at or above the oldest held group's newest activity bounds nothing past the cap
  // (an upper one), or excludes it all (a lower one).
  const { lt, lte, gt, gte } = bound.bounds
  for (const [sk, inclusive] of [
    [lt, false],
    [lte, true],
  ] as const) {
    if (sk === undefined || sk >= bound.oldest) continue
    if (!plan.upper || sk < plan.upper.sk || (sk === plan.upper.sk && !inclusive))
      plan.upper = { sk, inclusive }
  }
  for (const [sk, inclusive] of [
    [gt, false],
    [gte, true],
  ] as const) {
    if (sk === undefined) continue
    if (sk >= bound.oldest) return out
    if (!plan.lower || sk > plan.lower.sk || (sk === plan.lower.sk && !inclusive))
      plan.lower = { sk, inclusive }
  }
  const groups = await collect(plan, (below, limit, floor) => read(feed, below, limit, floor), new Budget())
  out.groups = [...page.groups, ...groups]
  return out
}

/** Walks buckets newest first from the page's start and returns the groups it takes. */
async function collect(plan: Plan, read: ReadSlice, budget: Budget): Promise<GroupRow[]> {
  const taken: GroupRow[] = []
  let skipped = 0
  // The bucket of an upper cursor: the coarsest level whose bucket holding it is small enough.
  let level = 0
  let top = plan.bound.oldest
  if (plan.upper) {
    const at = plan.upper.sk
    for (; level < LEVELS.length - 1; level++) {
      const end = bucketEnd(at, level)
      let probeTop = top
      if (end < probeTop) probeTop = end
      const probe = new Reader(read, probeTop, budget, bucketStart(at, level))
      if ((await probe.fillFrom(bucketStart(at, level), BUCKET_LIMIT)) <= BUCKET_LIMIT) break
    }
    const end = bucketEnd(at, level)
    if (end < top) top = end
  }
  const reader = new Reader(read, top, budget)
  let upperSk: string | undefined
  let lowerSk: string | undefined
  let done = false

  /** Adds one bucket's groups; true once the page has all it needs or nothing more can qualify. */
  const emit = (entries: FlatEntry[]): boolean => {
    const groups = buildGroups(plan, entries)
    const { upper, lower } = plan
    if (upper && upperSk === undefined) {
      // The cursor names the group holding that activity, else the activity's own place.
      upperSk = groups.find((g) => g.sks.has(upper.sk))?.row.lastSk ?? upper.sk
    }
    if (lower && lowerSk === undefined) {
      const holder = groups.find((g) => g.sks.has(lower.sk))
      if (holder) lowerSk = holder.row.lastSk
    }
    for (const { row } of groups) {
      if (upper && upperSk !== undefined && (upper.inclusive ? row.lastSk > upperSk : row.lastSk >= upperSk))
        continue
      if (plan.lower) {
        const low = lowerSk ?? plan.lower.sk
        if (plan.lower.inclusive ? row.lastSk < low : row.lastSk <= low) continue
      }
      if (skipped < plan.skip) skipped++
      else taken.push(row)
      if (taken.length >= plan.take) return true
    }
    // Older buckets hold only older groups: none is above a lower cursor this bucket reached.
    return plan.lower !== undefined && entries[entries.length - 1].sk <= plan.lower.sk
  }

  /** The buckets of `level` at or after `lo`, newest first, each split further when too big. */
  const walk = async (level: number, lo: string): Promise<void> => {
    while (!done) {
      await reader.fillFrom(lo, 0)
      const first = reader.buffer[0]
      if (!first || first.sk < lo) return
      const start = bucketStart(first.sk, level)
      const last = level === LEVELS.length - 1
      const count = await reader.fillFrom(start, last ? Number.POSITIVE_INFINITY : BUCKET_LIMIT)
      if (count > BUCKET_LIMIT && !last) await walk(level + 1, start)
      else done = emit(reader.buffer.splice(0, count))
    }
  }
  // From the cursor's bucket at its level outwards: the rest of each enclosing bucket at the
  // level below it, then the days before.
  const at = plan.upper?.sk ?? top
  for (let l = level; l >= 0 && !done; l--) {
    await walk(l, l === 0 ? '' : bucketStart(at, l - 1))
  }
  return taken
}

interface Built {
  row: GroupRow
  sks: Set<string>
}

/** One bucket's entries (newest first) as groups by key, newest group first. */
function buildGroups(plan: Plan, entries: FlatEntry[]): Built[] {
  const byKey = new Map<string, { entries: FlatEntry[]; actors: Set<string> }>()
  for (const entry of entries) {
    const activity = readActivity(entry.body, null)
    const key = groupKeyIn(plan.group, groupSource(activity, skMicros(entry.sk)))
    let g = byKey.get(key)
    if (!g) {
      g = { entries: [], actors: new Set() }
      byKey.set(key, g)
    }
    g.entries.push(entry)
    g.actors.add(activity.actor)
  }
  // Map order is first-seen order, newest activity first: already the feed's group order.
  return [...byKey].map(([key, g]) => {
    const oldest = g.entries[g.entries.length - 1].sk
    return {
      sks: new Set(g.entries.map((e) => e.sk)),
      row: {
        // A group is named after the activity that created it: its oldest, delivered first.
        id: skToId(oldest),
        group: key,
        firstSk: oldest,
        lastSk: g.entries[0].sk,
        activityCount: g.entries.length,
        actorCount: g.actors.size,
        // As `eddy rebuild-timelines` restores old groups: nothing past the cap is news.
        seen: true,
        read: true,
        activities: g.entries.slice(0, plan.perGroup),
      },
    }
  })
}
