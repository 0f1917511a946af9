/** Eddy's SQLite store: `openSqliteStore(path)` opens (and creates or migrates) a database file. */
import { startCheckpoints } from './checkpointer.js'
import { openDatabase } from './driver.js'
import { configure, migrate, type SqliteOptions } from './schema.js'
import { SqliteStore } from './sqlite-store.js'

export type { SqliteOptions } from './schema.js'
export { SCHEMA_VERSION } from './schema.js'
export { SqliteStore } from './sqlite-store.js'

/**
 * Opens a SQLite store at `path` (`:memory:` for a private in-memory one), creating or migrating it.
 * better-sqlite3's native module is loaded by the first call, not by importing Eddy.
 */
export function openSqliteStore(path: string, options: SqliteOptions = {}): SqliteStore {
  const db = openDatabase(path)
  try {
    configure(db, options)
    migrate(db)
    startCheckpoints(db, path, options.synchronous === 'full' ? 'FULL' : 'NORMAL')
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteStore(db, `sqlite:${path}`)
}
