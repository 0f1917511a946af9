/**
 * The default timelines part of the PostgreSQL store: entries and group state in the store's
 * own tables, written inside its transactions (postgres-timeline-writer.ts) and read by
 * postgres-timeline-reader.ts.
 */
import type {
  EntryRemove,
  EntryShape,
  EntryWrite,
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
} from '../store.js'
import type { FeedReads } from './feed-reads.js'
import { PostgresTimelineReader } from './postgres-timeline-reader.js'
import { PostgresTimelineWriter } from './postgres-timeline-writer.js'
import type { Runner, Session, Step } from './session.js'
import type { OriginRemove, PostgresTimelines, PostgresTimelinesContext } from './timelines.js'

/** Timelines in the PostgreSQL store's own tables. */
export class PostgresTableTimelines implements PostgresTimelines {
  readonly #session: Session
  readonly #feedReads: FeedReads
  readonly #writer: PostgresTimelineWriter
  readonly #reader: PostgresTimelineReader

  constructor(context: PostgresTimelinesContext) {
    const schema = context.session.target.schema
    this.#session = context.session
    this.#feedReads = context.feedReads
    this.#writer = new PostgresTimelineWriter(schema)
    this.#reader = new PostgresTimelineReader(context.session, schema)
  }

  apply(db: Runner, add?: EntryWrite[], remove?: EntryRemove[], byOrigin?: OriginRemove[]): Promise<void> {
    return this.#writer.apply(db, add, remove, byOrigin)
  }

  addStep(add: EntryWrite[]): Step | undefined {
    return this.#writer.addStep(add)
  }

  fanoutStep(
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Step | undefined {
    return this.#writer.fanoutStep(sk, origin, feeds, shapes, report)
  }

  fanout(
    db: Runner,
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Promise<string[] | undefined> {
    return this.#writer.fanout(db, sk, origin, feeds, shapes, report)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#session.check()
    return this.#reader.findByForeignId(feed, foreignId)
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#session.check()
    return this.#reader.getEntries(feed, sks)
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#session.check()
    if (page.limit > 0) this.#feedReads.note(feed)
    return this.#reader.readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#session.check()
    return this.#reader.newestEntries(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    this.#session.check()
    if (page.limit > 0) this.#feedReads.note(feed)
    return this.#reader.readGroups(feed, page, perGroup, options)
  }
}
