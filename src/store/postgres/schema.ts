/**
 * The PostgreSQL schema and its migrations (docs/postgres.md describes every table). All of
 * Eddy's tables live in one schema (`eddy` unless told otherwise), and `schema_version` records
 * each migration applied. Opening a store runs the missing migrations in one transaction under
 * a transaction-scoped advisory lock, so processes opening a fresh database at once migrate it
 * exactly once; a database migrated by newer code is refused rather than misread.
 *
 * Key columns use the "C" collation: sort keys and feed names then compare byte by byte, as
 * the other stores compare strings, whatever the database's locale, and `slug:` prefixes are
 * index ranges (`>= 'slug:' AND < 'slug;'`).
 */
import { StoreError } from '../errors.js'
import type { PostgresTarget } from './errors.js'
import { postgresError, where } from './errors.js'
import { type Runner, type Session, sql } from './session.js'

/** Identifiers Eddy accepts as a schema name (so it never needs escaping beyond quotes). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** `"schema"`, for qualifying table names in statements. */
export function quoted(schema: string): string {
  return `"${schema}"`
}

// Each entry runs once, in order, with `s` the quoted schema; never edit a shipped one, append.
const MIGRATIONS: ((s: string) => string)[] = [
  (s) => `
  -- Bodies, once per activity. foreign_id is NULL when the activity has none.
  CREATE TABLE ${s}.activities (
    sk text COLLATE "C" PRIMARY KEY,
    body text NOT NULL,
    foreign_id text COLLATE "C"
  );
  CREATE INDEX activities_by_foreign_id ON ${s}.activities (foreign_id) WHERE foreign_id IS NOT NULL;

  -- Timelines as references. grp and actor are NULL in flat feeds; origin NULL for direct adds.
  -- The primary key serves every flat page (backward scan, no sort) and unfollow's removal by
  -- origin (one feed's range, filtered).
  CREATE TABLE ${s}.entries (
    feed text COLLATE "C" NOT NULL,
    sk text COLLATE "C" NOT NULL,
    origin text COLLATE "C",
    grp text COLLATE "C",
    actor text COLLATE "C",
    PRIMARY KEY (feed, sk)
  );
  -- A group's newest entries for group pages, and its bounds after removals.
  CREATE INDEX entries_by_group ON ${s}.entries (feed, grp, sk) WHERE grp IS NOT NULL;

  CREATE TABLE ${s}.feed_groups (
    feed text COLLATE "C" NOT NULL,
    grp text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    first_sk text COLLATE "C" NOT NULL,
    last_sk text COLLATE "C" NOT NULL,
    activity_count integer NOT NULL,
    actor_count integer NOT NULL,
    is_seen boolean NOT NULL,
    is_read boolean NOT NULL,
    PRIMARY KEY (feed, grp)
  );
  CREATE INDEX feed_groups_by_last ON ${s}.feed_groups (feed, last_sk);
  CREATE INDEX feed_groups_by_id ON ${s}.feed_groups (feed, id);

  -- How many entries of a group each actor has, so actor_count stays exact under removes.
  CREATE TABLE ${s}.group_actors (
    feed text COLLATE "C" NOT NULL,
    grp text COLLATE "C" NOT NULL,
    actor text COLLATE "C" NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (feed, grp, actor)
  );

  -- Unseen/unread group counts per feed, kept by the statement triggers below: O(1) to read,
  -- and exact whatever statement inserts, deletes or flips a group.
  CREATE TABLE ${s}.feed_counts (
    feed text COLLATE "C" PRIMARY KEY,
    unseen integer NOT NULL,
    unread integer NOT NULL
  );

  -- One upsert per statement, feeds in order: concurrent transactions lock counters in the same
  -- order and cannot deadlock on them.
  CREATE FUNCTION ${s}.count_inserted_groups() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO ${s}.feed_counts AS c (feed, unseen, unread)
    SELECT feed, count(*) FILTER (WHERE NOT is_seen), count(*) FILTER (WHERE NOT is_read)
    FROM new_groups GROUP BY feed ORDER BY feed
    ON CONFLICT (feed) DO UPDATE SET unseen = c.unseen + excluded.unseen, unread = c.unread + excluded.unread;
    RETURN NULL;
  END $$;
  CREATE FUNCTION ${s}.count_deleted_groups() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO ${s}.feed_counts AS c (feed, unseen, unread)
    SELECT feed, -count(*) FILTER (WHERE NOT is_seen), -count(*) FILTER (WHERE NOT is_read)
    FROM old_groups GROUP BY feed HAVING count(*) FILTER (WHERE NOT is_seen OR NOT is_read) > 0 ORDER BY feed
    ON CONFLICT (feed) DO UPDATE SET unseen = c.unseen + excluded.unseen, unread = c.unread + excluded.unread;
    RETURN NULL;
  END $$;
  -- New rows count up and old rows down, summed per feed: linear in the rows updated (a join
  -- of the two transition tables has no index and went quadratic: 0.9 s per 10,000 groups).
  CREATE FUNCTION ${s}.count_updated_groups() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO ${s}.feed_counts AS c (feed, unseen, unread)
    SELECT feed, sum(unseen), sum(unread) FROM (
      SELECT feed, (NOT is_seen)::int AS unseen, (NOT is_read)::int AS unread FROM new_groups
      UNION ALL
      SELECT feed, -(NOT is_seen)::int, -(NOT is_read)::int FROM old_groups
    ) AS d GROUP BY feed HAVING sum(unseen) <> 0 OR sum(unread) <> 0 ORDER BY feed
    ON CONFLICT (feed) DO UPDATE SET unseen = c.unseen + excluded.unseen, unread = c.unread + excluded.unread;
    RETURN NULL;
  END $$;
  CREATE TRIGGER feed_groups_counted_insert AFTER INSERT ON ${s}.feed_groups
    REFERENCING NEW TABLE AS new_groups FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_inserted_groups();
  CREATE TRIGGER feed_groups_counted_delete AFTER DELETE ON ${s}.feed_groups
    REFERENCING OLD TABLE AS old_groups FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_deleted_groups();
  CREATE TRIGGER feed_groups_counted_update AFTER UPDATE ON ${s}.feed_groups
    REFERENCING NEW TABLE AS new_groups OLD TABLE AS old_groups
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_updated_groups();

  -- seq orders edges created in the same millisecond (and in one batch) by creation.
  CREATE TABLE ${s}.follows (
    source text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    updated_at text COLLATE "C" NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (source, target)
  );
  -- Fan-out chunks walk a feed's followers by name; index-only.
  CREATE INDEX follows_by_target ON ${s}.follows (target, source);
  -- Newest-first pages of followers and following, no sort.
  CREATE INDEX follows_target_time ON ${s}.follows (target, created_at, seq);
  CREATE INDEX follows_source_time ON ${s}.follows (source, created_at, seq);

  -- One row per (feed, activity): accepting a job again replaces it (new id, cursor reset,
  -- end of the queue). lease_until is the database's clock, so workers on other machines agree.
  CREATE SEQUENCE ${s}.fanout_jobs_seq;
  CREATE TABLE ${s}.fanout_jobs (
    feed text COLLATE "C" NOT NULL,
    sk text COLLATE "C" NOT NULL,
    id text NOT NULL,
    op text NOT NULL,
    shapes json,
    cursor text COLLATE "C",
    seq bigint NOT NULL DEFAULT nextval('${s}.fanout_jobs_seq'),
    lease_until timestamptz NOT NULL,
    lease_ms integer NOT NULL,
    PRIMARY KEY (feed, sk)
  );
  CREATE INDEX fanout_jobs_by_seq ON ${s}.fanout_jobs (seq);

  CREATE TABLE ${s}.docs (
    kind text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    data text NOT NULL,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    PRIMARY KEY (kind, id)
  );
  `,
  (s) => `
  -- Reactions (store/reactions.ts): a node is (activity_id, parent), parent '' for a reaction to
  -- the activity; rk orders by creation. Soft-deleted rows stay and reads skip them (rare, so no
  -- partial indexes). Node, user and user-at-node lists are index ranges in rk order.
  CREATE TABLE ${s}.reactions (
    id text COLLATE "C" PRIMARY KEY,
    rk text COLLATE "C" NOT NULL,
    activity_id text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    body text NOT NULL,
    deleted boolean NOT NULL
  );
  CREATE INDEX reactions_by_node_kind ON ${s}.reactions (activity_id, parent, kind, rk);
  CREATE INDEX reactions_by_node ON ${s}.reactions (activity_id, parent, rk);
  CREATE INDEX reactions_by_user ON ${s}.reactions (user_id, rk);
  CREATE INDEX reactions_by_user_node ON ${s}.reactions (user_id, activity_id, parent, kind, rk);

  -- Live reactions per node and kind, moved in the transaction that moves a row; kept at 0.
  CREATE TABLE ${s}.reaction_counts (
    activity_id text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (activity_id, parent, kind)
  );

  -- The audit log, newest first by seq.
  CREATE TABLE ${s}.audit_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL,
    entity_type text COLLATE "C" NOT NULL,
    entity_id text COLLATE "C" NOT NULL,
    action text NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    custom text NOT NULL,
    created_at text NOT NULL
  );
  CREATE INDEX audit_log_by_entity ON ${s}.audit_log (entity_type, entity_id, seq);
  CREATE INDEX audit_log_by_user ON ${s}.audit_log (user_id, seq);
  `,
  (s) => `
  -- When each feed was last read (a page of at least one entry), at most once a minute per feed
  -- and process (feed-reads.ts): fan-out delivers to followers read within the active window
  -- first (fanout.ts). A chunk looks up its followers by the primary key, never a range of times.
  CREATE TABLE ${s}.feed_reads (
    feed text COLLATE "C" PRIMARY KEY,
    read_at timestamptz NOT NULL
  );
  `,
  (s) => `
  -- Dead jobs (store.ts rule 6, dead-jobs.ts): failed runs counted with the last reason and time;
  -- a dead job's lease is 'infinity', so claims pass it by. Few rows are ever dead: a partial index.
  ALTER TABLE ${s}.fanout_jobs ADD COLUMN failures integer NOT NULL DEFAULT 0,
    ADD COLUMN failure text, ADD COLUMN failed_at timestamptz,
    ADD COLUMN dead boolean NOT NULL DEFAULT false;
  CREATE INDEX fanout_jobs_dead ON ${s}.fanout_jobs (seq) WHERE dead;
  `,
]

/** The schema version this code writes (the number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length

// pg_advisory_xact_lock(int, int): this class id ("Ed") and a hash of the schema name.
const LOCK_CLASS = 0x4564

/**
 * Brings `target.schema` up to {@link SCHEMA_VERSION}, creating it if needed; throws a
 * {@link StoreError} when the schema is newer than this code or cannot be written.
 */
export async function migrate(session: Session): Promise<void> {
  const target = session.target
  const s = quoted(target.schema)
  try {
    await session.transaction('migrate', async (db) => {
      await db.run(sql('SELECT pg_advisory_xact_lock($1::int, hashtext($2))'), [LOCK_CLASS, target.schema])
      await db.run(sql(`CREATE SCHEMA IF NOT EXISTS ${s}`))
      await db.run(
        sql(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (
          version integer PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`),
      )
      const current = await version(db, s)
      if (current > SCHEMA_VERSION) throw newerSchema(target, current)
      for (let v = current; v < SCHEMA_VERSION; v++) {
        // DDL as a simple query (several statements, no parameters, nothing to prepare).
        await db.run({ name: '', text: MIGRATIONS[v](s) })
        await db.run(sql(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`), [v + 1])
      }
    })
  } catch (error) {
    if (error instanceof StoreError) throw error
    throw postgresError(
      'schema',
      `cannot create or migrate the schema "${target.schema}" on ${where(target)}: ${(error as Error).message}; the user needs CREATE on the database (or the schema), or choose another schema`,
      error,
    )
  }
}

async function version(db: Runner, s: string): Promise<number> {
  const [row] = await db.rows<{ v: number | null }>(sql(`SELECT max(version) AS v FROM ${s}.schema_version`))
  return row?.v ?? 0
}

function newerSchema(target: PostgresTarget, current: number): StoreError {
  return postgresError(
    'schema',
    `the schema "${target.schema}" on ${where(target)} is at version ${current}, newer than this Eddy understands (${SCHEMA_VERSION}); upgrade Eddy, or use another schema`,
  )
}
