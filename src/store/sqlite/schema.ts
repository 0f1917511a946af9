/**
 * The SQLite schema and its migrations. `PRAGMA user_version` holds how many migrations ran;
 * opening runs the missing ones in one IMMEDIATE transaction, so two processes opening a fresh
 * file at once migrate it exactly once.
 *
 * Bytes per timeline entry, measured with dbstat on 1,000 feeds x 100 entries (feed names like
 * `timeline:user1234`, 31-character sort keys, pages filled by random-order inserts): a flat
 * entry is one row of `entries`, about 85 B on disk. A grouped entry also has a row in the
 * group index, about 170 B in all, plus per group about 450 B (its row and four index rows)
 * and about 50 B per distinct actor. Bodies are stored once, in `activities`.
 */
import type { Database } from './driver.js'

/** What `openSqliteStore` may tune. */
export interface SqliteOptions {
  /** `normal` (default) may lose the last commits on power loss, never integrity; `full` loses none. */
  synchronous?: 'normal' | 'full'
}

// Each entry runs once, in order; never edit a shipped one, append a new one instead.
const MIGRATIONS: string[] = [
  `
  -- foreign_id is NULL when the activity has none, so the partial index skips it.
  CREATE TABLE activities (
    sk TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    foreign_id TEXT
  ) WITHOUT ROWID;
  CREATE INDEX activities_by_foreign_id ON activities (foreign_id) WHERE foreign_id IS NOT NULL;

  -- grp and actor are NULL in flat feeds; origin is NULL for direct adds.
  CREATE TABLE entries (
    feed TEXT NOT NULL,
    sk TEXT NOT NULL,
    origin TEXT,
    grp TEXT,
    actor TEXT,
    PRIMARY KEY (feed, sk)
  ) WITHOUT ROWID;
  -- No (feed, origin) index: fan-out writes one entry into each of thousands of feeds, and
  -- every index clustered by feed costs one more dirty page per feed per commit (measured:
  -- 10k populated feeds, 340 ms per fan-out without it, 800 ms with it). Unfollow scans the
  -- follower feed's primary-key range instead, as fast as the indexed delete (measured).
  -- Partial index: flat entries pay nothing for groups.
  CREATE INDEX entries_by_group ON entries (feed, grp, sk) WHERE grp IS NOT NULL;

  CREATE TABLE feed_groups (
    feed TEXT NOT NULL,
    grp TEXT NOT NULL,
    id TEXT NOT NULL,
    first_sk TEXT NOT NULL,
    last_sk TEXT NOT NULL,
    activity_count INTEGER NOT NULL,
    actor_count INTEGER NOT NULL,
    is_seen INTEGER NOT NULL,
    is_read INTEGER NOT NULL,
    PRIMARY KEY (feed, grp)
  ) WITHOUT ROWID;
  CREATE INDEX feed_groups_by_last ON feed_groups (feed, last_sk);
  CREATE INDEX feed_groups_by_id ON feed_groups (feed, id);
  -- Unseen/unread counts walk only the unseen/unread groups of one feed.
  CREATE INDEX feed_groups_unseen ON feed_groups (feed) WHERE is_seen = 0;
  CREATE INDEX feed_groups_unread ON feed_groups (feed) WHERE is_read = 0;

  -- How many entries of a group each actor has, so actor_count stays exact under removes.
  CREATE TABLE group_actors (
    feed TEXT NOT NULL,
    grp TEXT NOT NULL,
    actor TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (feed, grp, actor)
  ) WITHOUT ROWID;

  -- A rowid table: the rowid breaks created_at ties (same millisecond) by insertion order.
  CREATE TABLE follows (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, target)
  );
  CREATE INDEX follows_by_target ON follows (target, source);
  -- (x, created_at) indexes end with the rowid, so newest-first pages need no sort.
  CREATE INDEX follows_target_time ON follows (target, created_at);
  CREATE INDEX follows_source_time ON follows (source, created_at);

  CREATE TABLE fanout_jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    op TEXT NOT NULL,
    feed TEXT NOT NULL,
    sk TEXT NOT NULL,
    cursor TEXT,
    created TEXT NOT NULL
  );
  CREATE INDEX fanout_jobs_by_activity ON fanout_jobs (feed, sk);

  CREATE TABLE docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  `,
  `
  -- Group pages read every column of 25 groups; a covering index saves a primary-key lookup
  -- per group (measured: 200 -> 110 us for a page of 25 on the 2-core VM). last_sk changes
  -- on most grouped adds anyway, so the wider entry costs little on write.
  DROP INDEX feed_groups_by_last;
  CREATE INDEX feed_groups_page ON feed_groups
    (feed, last_sk, id, first_sk, activity_count, actor_count, is_seen, is_read);
  `,
  `
  -- Unseen/unread counts kept per feed by triggers, so a notification read costs O(1) instead of
  -- walking every unseen group (130 us for 755 unseen groups, measured). Triggers see every
  -- code path that inserts, deletes or flips a group, so the counts cannot drift from the rows.
  CREATE TABLE feed_counts (
    feed TEXT PRIMARY KEY,
    unseen INTEGER NOT NULL,
    unread INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO feed_counts (feed, unseen, unread)
    SELECT feed, sum(is_seen = 0), sum(is_read = 0) FROM feed_groups GROUP BY feed;
  CREATE TRIGGER feed_groups_counted_insert AFTER INSERT ON feed_groups BEGIN
    INSERT INTO feed_counts (feed, unseen, unread) VALUES (new.feed, new.is_seen = 0, new.is_read = 0)
    ON CONFLICT DO UPDATE SET unseen = unseen + excluded.unseen, unread = unread + excluded.unread;
  END;
  CREATE TRIGGER feed_groups_counted_delete AFTER DELETE ON feed_groups
  WHEN old.is_seen = 0 OR old.is_read = 0 BEGIN
    UPDATE feed_counts SET unseen = unseen - (old.is_seen = 0), unread = unread - (old.is_read = 0)
    WHERE feed = old.feed;
  END;
  CREATE TRIGGER feed_groups_counted_update AFTER UPDATE OF is_seen, is_read ON feed_groups
  WHEN old.is_seen <> new.is_seen OR old.is_read <> new.is_read BEGIN
    UPDATE feed_counts SET
      unseen = unseen + (new.is_seen = 0) - (old.is_seen = 0),
      unread = unread + (new.is_read = 0) - (old.is_read = 0)
    WHERE feed = new.feed;
  END;
  `,
  `
  -- Seam v2: one job per (feed, activity), upserted (the latest intent replaces the job), with
  -- the entry shapes of its followers (JSON) so a chunk needs no engine code, and a lease
  -- (epoch ms) that hands the job to one worker at a time. Jobs accepted by older versions keep
  -- their place and get shapes NULL: the engine computes those on resume. Of several old jobs
  -- for one activity, only the newest survives, as the old cancel rule had it.
  CREATE TABLE fanout_jobs_v2 (
    seq INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    sk TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL,
    shapes TEXT,
    cursor TEXT,
    lease_until INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    UNIQUE (feed, sk)
  );
  INSERT INTO fanout_jobs_v2 (seq, feed, sk, id, op, shapes, cursor, lease_until, lease_ms)
    SELECT seq, feed, sk, id, op, NULL, cursor, 0, 30000 FROM fanout_jobs AS j
    WHERE seq = (SELECT max(seq) FROM fanout_jobs WHERE feed = j.feed AND sk = j.sk);
  DROP TABLE fanout_jobs;
  ALTER TABLE fanout_jobs_v2 RENAME TO fanout_jobs;
  CREATE INDEX fanout_jobs_by_lease ON fanout_jobs (lease_until, seq);
  `,
  `
  -- Reactions (store/reactions.ts). A node is (activity_id, parent), parent '' for a reaction to
  -- the activity itself; rk orders by creation. Soft-deleted rows stay (deleted = 1) and reads
  -- skip them; they are rare, so no partial indexes. Lists by node (with or without kind), by
  -- user, and by user at a node (own reactions) are index ranges in rk order.
  CREATE TABLE reactions (
    id TEXT PRIMARY KEY,
    rk TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    parent TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    deleted INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX reactions_by_node_kind ON reactions (activity_id, parent, kind, rk);
  CREATE INDEX reactions_by_node ON reactions (activity_id, parent, rk);
  CREATE INDEX reactions_by_user ON reactions (user_id, rk);
  CREATE INDEX reactions_by_user_node ON reactions (user_id, activity_id, parent, kind, rk);

  -- Live reactions per node and kind, moved in the transaction that moves a row; kept at 0.
  CREATE TABLE reaction_counts (
    activity_id TEXT NOT NULL,
    parent TEXT NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (activity_id, parent, kind)
  ) WITHOUT ROWID;

  -- The audit log: seq (the rowid) is the order, newest first by a backward scan.
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    user_id TEXT NOT NULL,
    custom TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX audit_log_by_entity ON audit_log (entity_type, entity_id, seq);
  CREATE INDEX audit_log_by_user ON audit_log (user_id, seq);
  `,
  `
  -- Dead jobs (store.ts rule 6): failed runs are counted with the last reason and time; a job
  -- set aside as dead gets lease_until = 2^62, so claims pass it by with no change to them.
  ALTER TABLE fanout_jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE fanout_jobs ADD COLUMN failure TEXT;
  ALTER TABLE fanout_jobs ADD COLUMN failed_at INTEGER;
  ALTER TABLE fanout_jobs ADD COLUMN dead INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX fanout_jobs_dead ON fanout_jobs (seq) WHERE dead = 1;
  `,
]

/** The schema version this code writes (the number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length

/** Sets the connection pragmas: WAL, the chosen durability and a busy wait for other writers. */
export function configure(db: Database, options: SqliteOptions = {}): void {
  // Wait for another process's write transaction instead of failing with SQLITE_BUSY at once.
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  // A fan-out commit dirties about one page per follower feed. A 64 MiB page cache (allocated
  // as used) keeps those pages in memory, and checkpointing every 10,000 pages instead of
  // 1,000 copies a page rewritten by many fan-outs to the database file once: together about
  // 3x faster fan-out to 10,000 populated feeds (measured). The WAL is cut back to 64 MiB.
  db.pragma('cache_size = -65536')
  db.pragma('wal_autocheckpoint = 10000')
  db.pragma('journal_size_limit = 67108864')
}

/** Brings the schema up to {@link SCHEMA_VERSION}; throws when the file was written by newer code. */
export function migrate(db: Database): void {
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this Eddy (${SCHEMA_VERSION})`)
    }
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v])
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`)
  })
  run.immediate()
}
