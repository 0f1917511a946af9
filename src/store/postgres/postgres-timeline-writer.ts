/**
 * Timeline writes on PostgreSQL, batch-first, keeping group state by rules G1–G4 of
 * `../shared/group-state.ts` (each step below names its rule): each step is one statement over `unnest` arrays,
 * whatever the number of entries or feeds (a fan-out chunk to 1,000 followers is a handful of
 * statements, never one per follower).
 *
 * Idempotence at READ COMMITTED: entries are inserted with ON CONFLICT DO NOTHING and deleted
 * with RETURNING, and group counters move only for the rows those statements report. Counter
 * updates compute from the row as locked (`n = n + excluded.n`), never from a value read
 * earlier, so concurrent writers to one group add up. Every batch is sorted by its key before
 * it is sent, so transactions lock rows of one table in one order; the remaining cross-table
 * deadlocks are rare and the session retries them.
 */
import {
  actorOf,
  groupIdOf,
  groupKeyOf,
  isGoneActor,
  isNewActor,
  type TrimPlan,
  trimsOf,
} from '../shared/group-state.js'
import type { EntryRemove, EntryShape, EntryWrite } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Sql, type Step, sql } from './session.js'
import { fanoutEntries } from './timelines.js'

interface Removed {
  feed: string
  sk: string
  grp: string | null
  actor: string | null
}

/** One group's share of a batch: how many entries, which actors, which bounds. */
interface GroupDelta {
  feed: string
  grp: string
  n: number
  first: string
  last: string
  id: string
  actors: Map<string, number>
  sks: Set<string>
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Applies entry adds, removes and trims inside the caller's transaction. */
export class PostgresTimelineWriter {
  readonly #st: ReturnType<typeof statements>

  constructor(schema: string) {
    this.#st = statements(quoted(schema))
  }

  /** Adds (`add`, then copies), removes, removes by origin, then trims feeds given a `maxLength`. */
  async apply(
    db: Runner,
    add: EntryWrite[] = [],
    remove: EntryRemove[] = [],
    byOrigin: { feed: string; origin: string }[] = [],
  ): Promise<void> {
    const trims = trimsOf(add)
    if (add.length > 0) await this.#add(db, add)
    if (remove.length > 0) {
      const sorted = [...remove].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.sk, b.sk))
      const removed = await db.rows<Removed>(this.#st.deleteEntries, [
        sorted.map((r) => r.feed),
        sorted.map((r) => r.sk),
        sorted.map((r) => r.origin ?? null),
      ])
      await this.#ungroup(db, removed)
    }
    if (byOrigin.length > 0) {
      const sorted = [...byOrigin].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.origin, b.origin))
      const removed = await db.rows<Removed>(this.#st.deleteByOrigin, [
        sorted.map((r) => r.feed),
        sorted.map((r) => r.origin),
      ])
      await this.#ungroup(db, removed)
    }
    if (trims.size > 0) await this.#trim(db, trims)
  }

  /**
   * A fan-out chunk's adds (PostgresTimelines.fanout): entry `sk` through `origin` into each of
   * `feeds` with a shape for its slug; with `report`, resolves with the feeds that gained it.
   */
  async fanout(
    db: Runner,
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Promise<string[] | undefined> {
    // As apply() with adds only, the inserted rows reported when asked.
    const add = fanoutEntries(sk, origin, feeds, shapes)
    const trims = trimsOf(add)
    const fresh = add.length > 0 ? await this.#add(db, add, report) : []
    if (trims.size > 0) await this.#trim(db, trims)
    return report ? fresh : undefined
  }

  /**
   * `apply(db, add)` as one statement, when every entry is flat and no feed is trimmed (nothing
   * then depends on what the insert reports); else undefined.
   */
  addStep(add: EntryWrite[]): Step | undefined {
    if (add.length === 0) return undefined
    for (const e of add) if (e.kind !== 'flat' || e.maxLength !== undefined) return undefined
    const unique = new Map<string, EntryWrite>()
    for (const entry of add) {
      const key = `${entry.feed}\u0000${entry.sk}`
      if (!unique.has(key)) unique.set(key, entry)
    }
    const sorted = [...unique.values()].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.sk, b.sk))
    const none = sorted.map(() => null)
    return {
      statement: this.#st.insertEntries,
      values: [sorted.map((e) => e.feed), sorted.map((e) => e.sk), sorted.map((e) => e.origin), none, none],
    }
  }

  /**
   * A fan-out chunk's adds (see `fanout`) as one statement, when every follower's shape is flat
   * and untrimmed: the sort key and origin are sent once, not once per follower. Rows `{ feed }`
   * of the feeds that gained the entry when `report`.
   */
  fanoutStep(
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Step | undefined {
    const to: string[] = []
    for (const feed of feeds) {
      const slug = feed.slice(0, feed.indexOf(':'))
      // Own keys only: a slug such as `constructor` must not find Object's.
      const shape = Object.hasOwn(shapes, slug) ? shapes[slug] : undefined
      if (!shape) continue
      if (shape.kind !== 'flat' || shape.maxLength !== undefined) return undefined
      to.push(feed)
    }
    // Rows of one table are locked in one order by every writer (see the module comment).
    for (let i = 1; i < to.length; i++) {
      if (to[i - 1] >= to[i]) {
        to.sort(byKey)
        break
      }
    }
    return { statement: report ? this.#st.fanoutReport : this.#st.fanout, values: [to, sk, origin] }
  }

  /** Inserts `add`; with `report`, resolves with the feeds of the rows that were new. */
  async #add(db: Runner, add: EntryWrite[], report = false): Promise<string[]> {
    // The first write of a (feed, sk) in the batch counts, as if the batch ran in order.
    const unique = new Map<string, EntryWrite>()
    for (const entry of add) {
      const key = `${entry.feed}\u0000${entry.sk}`
      if (!unique.has(key)) unique.set(key, entry)
    }
    const order = [...unique.keys()]
    const sorted = [...unique.values()].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.sk, b.sk))
    const grouped = (e: EntryWrite) => e.kind !== 'flat'
    // G1 keys; G2: only rows really inserted join their groups.
    // Reporting, every new row comes back (flat ones too); else only grouped rows need to.
    const rows = await db.rows<{ feed: string; sk: string; grp: string | null }>(
      report ? this.#st.insertEntriesReport : this.#st.insertEntries,
      [
        sorted.map((e) => e.feed),
        sorted.map((e) => e.sk),
        sorted.map((e) => e.origin),
        sorted.map((e) => (grouped(e) ? groupKeyOf(e) : null)),
        sorted.map((e) => (grouped(e) ? actorOf(e) : null)),
      ],
    )
    const fresh = report ? rows.map((r) => r.feed) : []
    const inserted = report ? rows.filter((r) => r.grp !== null) : rows
    if (inserted.length === 0) return fresh
    // Groups in batch order, so the group a batch creates is named after its first entry.
    const rank = new Map(order.map((key, i) => [key, i]))
    const entries = inserted
      .flatMap((r) => unique.get(`${r.feed}\u0000${r.sk}`) ?? [])
      .sort((a, b) => (rank.get(`${a.feed}\u0000${a.sk}`) ?? 0) - (rank.get(`${b.feed}\u0000${b.sk}`) ?? 0))
    const deltas = new Map<string, GroupDelta>()
    for (const e of entries) {
      const grp = groupKeyOf(e)
      const key = `${e.feed}\u0000${grp}`
      let d = deltas.get(key)
      if (!d) {
        d = {
          feed: e.feed,
          grp,
          n: 0,
          first: e.sk,
          last: e.sk,
          id: groupIdOf(e),
          actors: new Map(),
          sks: new Set(),
        }
        deltas.set(key, d)
      }
      d.n++
      if (e.sk < d.first) d.first = e.sk
      if (e.sk > d.last) d.last = e.sk
      const actor = actorOf(e)
      d.actors.set(actor, (d.actors.get(actor) ?? 0) + 1)
    }
    const groups = [...deltas.values()].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.grp, b.grp))
    const actors = groups.flatMap((g) =>
      [...g.actors].sort(([a], [b]) => byKey(a, b)).map(([actor, n]) => ({ g, actor, n })),
    )
    const counted = await db.rows<{ feed: string; grp: string; actor: string; n: number }>(
      this.#st.addActors,
      [
        actors.map((a) => a.g.feed),
        actors.map((a) => a.g.grp),
        actors.map((a) => a.actor),
        actors.map((a) => a.n),
      ],
    )
    // G2: an actor is new to its group when its row holds only what this batch added.
    const newActors = new Map<string, number>()
    for (const row of counted) {
      const key = `${row.feed}\u0000${row.grp}`
      if (isNewActor(row.n, deltas.get(key)?.actors.get(row.actor) ?? 0))
        newActors.set(key, (newActors.get(key) ?? 0) + 1)
    }
    await db.run(this.#st.upsertGroups, [
      groups.map((g) => g.feed),
      groups.map((g) => g.grp),
      groups.map((g) => g.id),
      groups.map((g) => g.first),
      groups.map((g) => g.last),
      groups.map((g) => g.n),
      groups.map((g) => newActors.get(`${g.feed}\u0000${g.grp}`) ?? 0),
    ])
    return fresh
  }

  /** G3: takes deleted entries out of their groups; deletes groups left empty. */
  async #ungroup(db: Runner, removed: Removed[]): Promise<void> {
    const deltas = new Map<string, GroupDelta>()
    for (const row of removed) {
      if (row.grp === null) continue
      const key = `${row.feed}\u0000${row.grp}`
      let d = deltas.get(key)
      if (!d) {
        d = {
          feed: row.feed,
          grp: row.grp,
          n: 0,
          first: row.sk,
          last: row.sk,
          id: '',
          actors: new Map(),
          sks: new Set(),
        }
        deltas.set(key, d)
      }
      d.n++
      d.sks.add(row.sk)
      const actor = row.actor ?? ''
      d.actors.set(actor, (d.actors.get(actor) ?? 0) + 1)
    }
    if (deltas.size === 0) return
    const groups = [...deltas.values()].sort((a, b) => byKey(a.feed, b.feed) || byKey(a.grp, b.grp))
    const actors = groups.flatMap((g) =>
      [...g.actors].sort(([a], [b]) => byKey(a, b)).map(([actor, n]) => ({ g, actor, n })),
    )
    const left = await db.rows<{ feed: string; grp: string; n: number }>(this.#st.removeActors, [
      actors.map((a) => a.g.feed),
      actors.map((a) => a.g.grp),
      actors.map((a) => a.actor),
      actors.map((a) => a.n),
    ])
    const goneActors = new Map<string, number>()
    for (const row of left) {
      if (!isGoneActor(row.n)) continue
      const key = `${row.feed}\u0000${row.grp}`
      goneActors.set(key, (goneActors.get(key) ?? 0) + 1)
    }
    if (goneActors.size > 0) {
      await db.run(this.#st.deleteSpentActors, [groups.map((g) => g.feed), groups.map((g) => g.grp)])
    }
    const after = await db.rows<{
      feed: string
      grp: string
      activity_count: number
      first_sk: string
      last_sk: string
    }>(this.#st.shrinkGroups, [
      groups.map((g) => g.feed),
      groups.map((g) => g.grp),
      groups.map((g) => g.n),
      groups.map((g) => goneActors.get(`${g.feed}\u0000${g.grp}`) ?? 0),
    ])
    const empty = after.filter((g) => g.activity_count <= 0)
    // Only a group that lost its first or last entry needs its bounds looked up again; the
    // lookup is a statement of its own so that it sees every entry committed before it.
    const moved = after.filter((g) => {
      const sks = deltas.get(`${g.feed}\u0000${g.grp}`)?.sks
      return g.activity_count > 0 && sks !== undefined && (sks.has(g.first_sk) || sks.has(g.last_sk))
    })
    if (empty.length > 0)
      await db.run(this.#st.deleteGroups, [empty.map((g) => g.feed), empty.map((g) => g.grp)])
    if (moved.length > 0) await db.run(this.#st.rebound, [moved.map((g) => g.feed), moved.map((g) => g.grp)])
  }

  /** G4: keeps each feed's newest `keep` entries, or groups (dropped whole) of a grouped feed. */
  async #trim(db: Runner, trims: TrimPlan): Promise<void> {
    const all = [...trims.entries()]
    const flat = all.filter(([, t]) => !t.grouped).sort(([a], [b]) => byKey(a, b))
    const grouped = all.filter(([, t]) => t.grouped).sort(([a], [b]) => byKey(a, b))
    if (flat.length > 0) await db.run(this.#st.trimFlat, [flat.map(([f]) => f), flat.map(([, t]) => t.keep)])
    if (grouped.length === 0) return
    // Whole groups go, so no counter needs an update: their entries and actors go with them.
    const gone = await db.rows<{ feed: string; grp: string }>(this.#st.trimGroups, [
      grouped.map(([f]) => f),
      grouped.map(([, t]) => t.keep),
    ])
    if (gone.length === 0) return
    gone.sort((a, b) => byKey(a.feed, b.feed) || byKey(a.grp, b.grp))
    const args = [gone.map((g) => g.feed), gone.map((g) => g.grp)]
    await db.run(this.#st.deleteGroupEntries, args)
    await db.run(this.#st.deleteGroupActors, args)
  }
}

function statements(s: string): Record<string, Sql> {
  const pairs = `unnest($1::text[], $2::text[]) AS u(feed, grp)`
  return {
    // Only grouped rows come back: flat entries need nothing more.
    insertEntries: sql(`WITH ins AS (
        INSERT INTO ${s}.entries (feed, sk, origin, grp, actor)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT DO NOTHING RETURNING feed, sk, grp)
      SELECT feed, sk FROM ins WHERE grp IS NOT NULL`),
    // A chunk's entries into flat, untrimmed feeds: one key and origin for every follower.
    fanout: sql(`INSERT INTO ${s}.entries (feed, sk, origin)
        SELECT f, $2::text, $3::text FROM unnest($1::text[]) AS f ON CONFLICT DO NOTHING`),
    fanoutReport: sql(`INSERT INTO ${s}.entries (feed, sk, origin)
        SELECT f, $2::text, $3::text FROM unnest($1::text[]) AS f ON CONFLICT DO NOTHING RETURNING feed`),
    insertEntriesReport: sql(`INSERT INTO ${s}.entries (feed, sk, origin, grp, actor)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT DO NOTHING RETURNING feed, sk, grp`),
    deleteEntries: sql(`DELETE FROM ${s}.entries AS e
      USING unnest($1::text[], $2::text[], $3::text[]) AS r(feed, sk, origin)
      WHERE e.feed = r.feed AND e.sk = r.sk AND (r.origin IS NULL OR e.origin = r.origin)
      RETURNING e.feed, e.sk, e.grp, e.actor`),
    deleteByOrigin: sql(`DELETE FROM ${s}.entries AS e USING unnest($1::text[], $2::text[]) AS r(feed, origin)
      WHERE e.feed = r.feed AND e.origin = r.origin RETURNING e.feed, e.sk, e.grp, e.actor`),
    addActors: sql(`INSERT INTO ${s}.group_actors AS a (feed, grp, actor, n)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
      ON CONFLICT (feed, grp, actor) DO UPDATE SET n = a.n + excluded.n
      RETURNING a.feed, a.grp, a.actor, a.n`),
    // G2: counts, actors and bounds move by the batch's share; joining makes a group unseen and unread.
    upsertGroups: sql(`INSERT INTO ${s}.feed_groups AS g
        (feed, grp, id, first_sk, last_sk, activity_count, actor_count, is_seen, is_read)
      SELECT u.*, false, false
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS u
      ON CONFLICT (feed, grp) DO UPDATE SET
        activity_count = g.activity_count + excluded.activity_count,
        actor_count = g.actor_count + excluded.actor_count,
        first_sk = least(g.first_sk, excluded.first_sk),
        last_sk = greatest(g.last_sk, excluded.last_sk),
        is_seen = false,
        is_read = false`),
    removeActors: sql(`UPDATE ${s}.group_actors AS a SET n = a.n - u.n
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS u(feed, grp, actor, n)
      WHERE a.feed = u.feed AND a.grp = u.grp AND a.actor = u.actor
      RETURNING a.feed, a.grp, a.n`),
    deleteSpentActors: sql(`DELETE FROM ${s}.group_actors AS a USING ${pairs}
      WHERE a.feed = u.feed AND a.grp = u.grp AND a.n <= 0`),
    shrinkGroups: sql(`UPDATE ${s}.feed_groups AS g
      SET activity_count = g.activity_count - u.n, actor_count = g.actor_count - u.gone
      FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS u(feed, grp, n, gone)
      WHERE g.feed = u.feed AND g.grp = u.grp
      RETURNING g.feed, g.grp, g.activity_count, g.first_sk, g.last_sk`),
    deleteGroups: sql(`DELETE FROM ${s}.feed_groups AS g USING ${pairs}
      WHERE g.feed = u.feed AND g.grp = u.grp AND g.activity_count <= 0`),
    rebound: sql(`UPDATE ${s}.feed_groups AS g SET
        first_sk = (SELECT min(e.sk) FROM ${s}.entries AS e WHERE e.feed = g.feed AND e.grp = g.grp),
        last_sk = (SELECT max(e.sk) FROM ${s}.entries AS e WHERE e.feed = g.feed AND e.grp = g.grp)
      FROM ${pairs} WHERE g.feed = u.feed AND g.grp = u.grp`),
    // The cut is the (keep+1)-th newest key of each feed: everything at or below it goes.
    trimFlat: sql(`DELETE FROM ${s}.entries AS e USING (
        SELECT t.feed, (SELECT x.sk FROM ${s}.entries AS x WHERE x.feed = t.feed
                        ORDER BY x.sk DESC OFFSET t.keep LIMIT 1) AS cut
        FROM unnest($1::text[], $2::int[]) AS t(feed, keep)) AS c
      WHERE e.feed = c.feed AND e.sk <= c.cut`),
    // G4: a grouped feed keeps its newest groups by last_sk.
    trimGroups: sql(`DELETE FROM ${s}.feed_groups AS g USING (
        SELECT t.feed, (SELECT x.last_sk FROM ${s}.feed_groups AS x WHERE x.feed = t.feed
                        ORDER BY x.last_sk DESC OFFSET t.keep LIMIT 1) AS cut
        FROM unnest($1::text[], $2::int[]) AS t(feed, keep)) AS c
      WHERE g.feed = c.feed AND g.last_sk <= c.cut RETURNING g.feed, g.grp`),
    deleteGroupEntries: sql(`DELETE FROM ${s}.entries AS e USING ${pairs}
      WHERE e.feed = u.feed AND e.grp = u.grp`),
    deleteGroupActors: sql(`DELETE FROM ${s}.group_actors AS a USING ${pairs}
      WHERE a.feed = u.feed AND a.grp = u.grp`),
  }
}
