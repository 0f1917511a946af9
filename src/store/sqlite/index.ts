/** Eddy's SQLite store: `openSqliteStore(path)` opens (and creates or migrates) a database file. */
import Database from 'better-sqlite3'
import { configure, migrate, type SqliteOptions } from './schema.js'
import { SqliteStore } from './sqlite-store.js'

export type { SqliteOptions } from './schema.js'
export { SCHEMA_VERSION } from './schema.js'
export { SqliteStore } from './sqlite-store.js'

/** Opens a SQLite store at `path` (`:memory:` for a private in-memory one), creating or migrating it. */
export function openSqliteStore(path: string, options: SqliteOptions = {}): SqliteStore {
  const db = new Database(path)
  try {
    configure(db, options)
    migrate(db)
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteStore(db, `sqlite:${path}`)
}
