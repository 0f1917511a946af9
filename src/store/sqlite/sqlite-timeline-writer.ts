/**
 * Timeline writes: entries added when absent and removed when present, with the group rows of
 * aggregated and notification feeds kept exact (rules G1–G4 of `../shared/group-state.ts`, which
 * each step below names). Group counters move only when an entry row was
 * really inserted or deleted, which is what makes every write idempotent. Callers run these
 * methods inside a write transaction.
 *
 * Without ANALYZE statistics SQLite often prefers the primary key (feed, sk) to the partial
 * group index and would walk a whole feed; INDEXED BY pins the plans that rely on it.
 */

import { actorOf, groupIdOf, groupKeyOf, isNewActor, type Trim, TrimPlan } from '../shared/group-state.js'
import type { EntryRemove, EntryShape, EntryWrite } from '../store.js'
import type { Database, Statement } from './driver.js'
import { cached, limitClause } from './statements.js'

interface Removed {
  sk: string
  grp: string | null
  actor: string | null
}

/** Applies entry adds, removes and trims for the SQLite store. */
export class SqliteTimelineWriter {
  readonly #db: Database
  readonly #insertEntry: Statement
  readonly #deleteEntry: Statement
  readonly #deleteEntryFrom: Statement
  readonly #deleteGroupedByOrigin: Statement
  readonly #deleteByOrigin: Statement
  readonly #addActor: Statement
  readonly #upsertGroup: Statement
  readonly #markNew: Statement
  readonly #deleteActorIfLast: Statement
  readonly #decrementActor: Statement
  readonly #decrementGroup: Statement
  readonly #deleteGroup: Statement
  readonly #deleteGroupActors: Statement
  readonly #deleteGroupEntries: Statement
  readonly #nthEntry = new Map<string, Statement>()
  readonly #deleteOldEntries: Statement
  readonly #nthGroup = new Map<string, Statement>()
  readonly #deleteOldGroups: Statement

  constructor(db: Database) {
    this.#db = db
    this.#insertEntry = db.prepare(
      'INSERT INTO entries (feed, sk, origin, grp, actor) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    )
    this.#deleteEntry = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? RETURNING sk, grp, actor')
    this.#deleteEntryFrom = db.prepare(
      'DELETE FROM entries WHERE feed = ? AND sk = ? AND origin = ? RETURNING sk, grp, actor',
    )
    this.#deleteGroupedByOrigin = db.prepare(
      'DELETE FROM entries WHERE feed = ? AND origin = ? AND grp IS NOT NULL RETURNING sk, grp, actor',
    )
    this.#deleteByOrigin = db.prepare('DELETE FROM entries WHERE feed = ? AND origin = ?')
    this.#addActor = db.prepare(
      `INSERT INTO group_actors (feed, grp, actor, n) VALUES (?, ?, ?, 1)
       ON CONFLICT DO UPDATE SET n = n + 1 RETURNING n`,
    )
    // G2: a new group starts at one activity, one actor, unseen and unread; a known one widens.
    this.#upsertGroup = db.prepare(
      `INSERT INTO feed_groups
         (feed, grp, id, first_sk, last_sk, activity_count, actor_count, is_seen, is_read)
       VALUES (:feed, :grp, :id, :sk, :sk, 1, 1, 0, 0)
       ON CONFLICT DO UPDATE SET
         activity_count = activity_count + 1,
         actor_count = actor_count + :newActor,
         first_sk = min(first_sk, excluded.first_sk),
         last_sk = max(last_sk, excluded.last_sk)`,
    )
    // Apart from the upsert, and only when a flag is set: writing a flag rewrites its partial
    // index entry, and most groups that get a new activity are still unseen and unread.
    this.#markNew = db.prepare(
      `UPDATE feed_groups SET is_seen = 0, is_read = 0
       WHERE feed = ? AND grp = ? AND (is_seen = 1 OR is_read = 1)`,
    )
    this.#deleteActorIfLast = db.prepare(
      'DELETE FROM group_actors WHERE feed = ? AND grp = ? AND actor = ? AND n <= 1',
    )
    this.#decrementActor = db.prepare(
      'UPDATE group_actors SET n = n - 1 WHERE feed = ? AND grp = ? AND actor = ?',
    )
    // G3: only a removed first/last entry moves a bound; the (feed, grp, sk) index then gives the
    // new one in one step. coalesce keeps NOT NULL happy when the group has just emptied.
    this.#decrementGroup = db.prepare(
      `UPDATE feed_groups SET
         activity_count = activity_count - 1,
         actor_count = actor_count - :goneActor,
         first_sk = CASE WHEN first_sk <> :sk THEN first_sk ELSE coalesce(
           (SELECT min(sk) FROM entries INDEXED BY entries_by_group
            WHERE feed = :feed AND grp = :grp), first_sk) END,
         last_sk = CASE WHEN last_sk <> :sk THEN last_sk ELSE coalesce(
           (SELECT max(sk) FROM entries INDEXED BY entries_by_group
            WHERE feed = :feed AND grp = :grp), last_sk) END
       WHERE feed = :feed AND grp = :grp
       RETURNING activity_count`,
    )
    this.#deleteGroup = db.prepare('DELETE FROM feed_groups WHERE feed = ? AND grp = ?')
    this.#deleteGroupActors = db.prepare('DELETE FROM group_actors WHERE feed = ? AND grp = ?')
    this.#deleteGroupEntries = db.prepare(
      'DELETE FROM entries INDEXED BY entries_by_group WHERE feed = ? AND grp = ?',
    )
    this.#deleteOldEntries = db.prepare('DELETE FROM entries WHERE feed = ? AND sk <= ?')
    this.#deleteOldGroups = db.prepare(
      'DELETE FROM feed_groups WHERE feed = ? AND last_sk <= ? RETURNING grp',
    )
  }

  /** Adds, removes, removes by origin, then trims every feed an added entry gave a `maxLength`. */
  apply(
    add: EntryWrite[] = [],
    remove: EntryRemove[] = [],
    byOrigin: { feed: string; origin: string }[] = [],
  ): void {
    const trims = new TrimPlan()
    for (const entry of add) {
      this.#add(entry.feed, entry.sk, entry.origin, entry)
      trims.note(entry.feed, entry)
    }
    for (const entry of remove) {
      const row = (
        entry.origin === undefined
          ? this.#deleteEntry.get(entry.feed, entry.sk)
          : this.#deleteEntryFrom.get(entry.feed, entry.sk, entry.origin)
      ) as Removed | undefined
      if (row) this.#ungroup(entry.feed, row)
    }
    for (const { feed, origin } of byOrigin) {
      for (const row of this.#deleteGroupedByOrigin.all(feed, origin) as Removed[]) this.#ungroup(feed, row)
      this.#deleteByOrigin.run(feed, origin)
    }
    for (const [feed, trim] of trims.entries()) this.#trim(feed, trim)
  }

  /**
   * Adds `sk` (come through `origin`) to each of `feeds` whose slug has a shape, then trims: a
   * fan-out chunk, with no entry object built per follower.
   */
  deliver(feeds: string[], sk: string, origin: string, shapes: Record<string, EntryShape>): void {
    const trims = new TrimPlan()
    for (const feed of feeds) {
      const slug = feed.slice(0, feed.indexOf(':'))
      if (!Object.hasOwn(shapes, slug)) continue
      this.#add(feed, sk, origin, shapes[slug])
      trims.note(feed, shapes[slug])
    }
    for (const [feed, trim] of trims.entries()) this.#trim(feed, trim)
  }

  #add(feed: string, sk: string, origin: string | null, shape: EntryShape): void {
    const grouped = shape.kind !== 'flat'
    const grp = grouped ? groupKeyOf(shape) : null
    const actor = grouped ? actorOf(shape) : null
    // G2: only an entry new to the feed joins its group.
    const inserted = this.#insertEntry.run(feed, sk, origin, grp, actor).changes > 0
    if (!inserted || grp === null) return
    const { n } = this.#addActor.get(feed, grp, actor) as { n: number }
    this.#upsertGroup.run({
      feed,
      grp,
      id: groupIdOf({ groupId: shape.groupId, sk }),
      sk,
      newActor: isNewActor(n, 1) ? 1 : 0,
    })
    this.#markNew.run(feed, grp)
  }

  /** G3: takes a deleted entry out of its group; deletes the group when it was the last one. */
  #ungroup(feed: string, row: Removed): void {
    if (row.grp === null) return
    const actor = row.actor ?? ''
    let goneActor = 0
    if (this.#deleteActorIfLast.run(feed, row.grp, actor).changes > 0) goneActor = 1
    else this.#decrementActor.run(feed, row.grp, actor)
    const group = this.#decrementGroup.get({ feed, grp: row.grp, sk: row.sk, goneActor }) as
      | { activity_count: number }
      | undefined
    if (group && group.activity_count <= 0) {
      this.#deleteGroup.run(feed, row.grp)
      this.#deleteGroupActors.run(feed, row.grp)
    }
  }

  /** G4: keeps the newest `keep` entries, or groups (dropped whole) of a grouped feed. */
  #trim(feed: string, { grouped, keep }: Trim): void {
    // A read first: most trims find nothing to delete, and a read is far cheaper than a DELETE.
    if (!grouped) {
      const nth = cached(this.#nthEntry, String(keep), () =>
        this.#db.prepare(`SELECT sk FROM entries WHERE feed = ? ORDER BY sk DESC ${limitClause(1, keep)}`),
      ).get(feed) as { sk: string } | undefined
      if (nth) this.#deleteOldEntries.run(feed, nth.sk)
      return
    }
    const nth = cached(this.#nthGroup, String(keep), () =>
      this.#db.prepare(
        `SELECT last_sk FROM feed_groups WHERE feed = ? ORDER BY last_sk DESC ${limitClause(1, keep)}`,
      ),
    ).get(feed) as { last_sk: string } | undefined
    if (!nth) return
    // Whole groups go, so their counters need no update: drop their entries and actors too.
    for (const { grp } of this.#deleteOldGroups.all(feed, nth.last_sk) as { grp: string }[]) {
      this.#deleteGroupEntries.run(feed, grp)
      this.#deleteGroupActors.run(feed, grp)
    }
  }
}
