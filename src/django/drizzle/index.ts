/**
 * Drizzle helpers (`eddy/drizzle`). Drizzle has no hooks, so writes that should publish go
 * through `insert` and `remove`, which run `.returning()` and publish the returned rows, and
 * transactions whose rows should publish after COMMIT are opened with `transaction(db, fn)`
 * (nested calls are savepoints). Tables are registered with `trackTable`, which also lets
 * `Enrich` load their rows (one query per table).
 *
 * ```ts
 * trackTable(db, pins, { name: 'Pin', actorId: (p) => p.authorId, actor: (p) => `User:${p.authorId}` })
 * await transaction(db, async (tx) => { await insert(tx, pins, { authorId: 1 }) }) // after COMMIT
 * ```
 */
import { getTableColumns, getTableName, inArray, is, type SQL, type Table } from 'drizzle-orm'
import { PgTransaction } from 'drizzle-orm/pg-core'
import { BaseSQLiteDatabase, SQLiteTransaction } from 'drizzle-orm/sqlite-core'
import { type ActivityModel, type ActivityOptions, registerActivityModel } from '../activity-model.js'
import { CommitBuffer } from '../commit-buffer.js'
import { type PendingPublish, publishPending } from '../feed-manager.js'
import { type ModelAdapter, registerAdapter } from '../references.js'
import { type KeyType, type Relation, TableRegistry, tableAdapter } from '../tables.js'
import { shouldTrack } from '../tracking.js'

export type { ActivityOptions, KeyType }

/** A Drizzle database or transaction (PostgreSQL or SQLite). */
type Db = any

/** A belongs-to relation to another registered table (its table object or name). */
export interface DrizzleRelation {
  table: Table | string
  /** The property (column key) of this table holding the related row's key. */
  foreignKey: string
}

/** How Eddy treats a table: its model name, key, relations and (when tracked) activity options. */
export interface DrizzleTableOptions<Row = any> extends ActivityOptions<Row> {
  /** The model name in references (`Pin` → `Pin:42`); default: the table name. */
  name?: string
  /** Primary key property (default: the column marked primary, else `id`). */
  primaryKey?: string
  /** Belongs-to relations `relatedModels` may name; each loads in one query per page. */
  relations?: Record<string, DrizzleRelation>
  /** False for tables that are only enriched (e.g. users); default true. */
  track?: boolean
}

const registry = new TableRegistry<Table>()
const modelOf = new WeakMap<Table, ActivityModel>()

function keyTypeOf(column: { dataType?: string } | undefined): KeyType {
  return column?.dataType === 'number' ? 'number' : column?.dataType === 'bigint' ? 'bigint' : 'string'
}

/**
 * Registers a table of `db`: tracked tables publish through `insert`/`remove`, and every
 * registered table can be enriched. Returns a function that forgets it.
 */
export function trackTable<T extends Table>(db: Db, table: T, options: DrizzleTableOptions = {}): () => void {
  const { name, primaryKey, relations, track, ...activity } = options
  const tableName = getTableName(table)
  const columns = getTableColumns(table) as Record<string, { primary?: boolean; dataType?: string }>
  const pk = primaryKey ?? Object.keys(columns).find((k) => columns[k].primary) ?? 'id'
  const modelName = name ?? tableName
  const model =
    track === false
      ? undefined
      : registerActivityModel(table, { ...activity, name: modelName, primaryKey: pk })
  if (model) modelOf.set(table, model)
  const related: Record<string, Relation> = {}
  for (const [key, r] of Object.entries(relations ?? {}))
    related[key] = {
      table: typeof r.table === 'string' ? r.table : getTableName(r.table),
      foreignKey: r.foreignKey,
    }
  const forget = registry.add({
    table,
    tableName,
    name: modelName,
    primaryKey: pk,
    keyType: keyTypeOf(columns[pk]),
    relations: related,
    model,
    select: (column, values) =>
      db
        .select()
        .from(table)
        .where(inArray((table as any)[column], values)),
  })
  return () => {
    forget()
    modelOf.delete(table)
  }
}

// ---------------------------------------------------------------------------------------------
// Transactions: the root's buffer, shared by the savepoints opened inside it.

const scopes = new WeakMap<object, CommitBuffer>()
let savepoints = 0

const isTransaction = (db: Db) => is(db, PgTransaction) || is(db, SQLiteTransaction)

function syncSqlite(db: Db): boolean {
  return is(db, BaseSQLiteDatabase) && (db as unknown as { resultKind?: string }).resultKind === 'sync'
}

/**
 * Runs `fn` in a transaction (`db.transaction`), or in a savepoint when `db` is a transaction
 * this function opened. Tracked writes publish after the outermost COMMIT, none on rollback, and
 * a savepoint that fails drops its rows. Not for synchronous drivers (better-sqlite3), whose
 * transactions cannot await.
 */
export async function transaction<T>(db: Db, fn: (tx: Db) => Promise<T>, config?: unknown): Promise<T> {
  if (syncSqlite(db))
    throw new Error(
      "eddy/drizzle: better-sqlite3's transactions are synchronous and cannot await; write outside a transaction or use an async driver",
    )
  const parent = scopes.get(db)
  if (parent) {
    const name = `eddy_${++savepoints}`
    parent.savepoint(name)
    try {
      const result = await db.transaction((tx: Db) => {
        scopes.set(tx, parent)
        return fn(tx)
      }, config)
      parent.release(name)
      return result
    } catch (error) {
      parent.rollbackTo(name)
      parent.release(name)
      throw error
    }
  }
  if (isTransaction(db)) throw foreignTransaction()
  const buffer = new CommitBuffer()
  let result: T
  try {
    result = await db.transaction((tx: Db) => {
      scopes.set(tx, buffer)
      return fn(tx)
    }, config)
  } catch (error) {
    buffer.rollback()
    throw error
  }
  await buffer.commit()
  return result
}

function foreignTransaction(): Error {
  return new Error(
    'eddy/drizzle: this transaction was not opened with transaction() from eddy/drizzle, so its rows would publish before COMMIT; open it with transaction(db, fn)',
  )
}

/** Where rows written on `db` go: a transaction's buffer, or undefined to publish now. Checked before writing. */
function bufferFor(db: Db): CommitBuffer | undefined {
  const buffer = scopes.get(db)
  if (!buffer && isTransaction(db)) throw foreignTransaction()
  return buffer
}

async function enqueue(buffer: CommitBuffer | undefined, items: PendingPublish[]): Promise<void> {
  if (items.length === 0) return
  if (buffer) buffer.push(...items)
  else await publishPending(items)
}

function tracked(table: Table): ActivityModel | undefined {
  const model = modelOf.get(table)
  return model && shouldTrack(model.key, model.name) ? model : undefined
}

/**
 * Inserts one row or many (one statement, `.returning()`) and returns the rows; a tracked
 * table's rows publish now, or after the outermost COMMIT inside `transaction()`.
 */
export async function insert<T extends Table>(
  db: Db,
  table: T,
  values: object | readonly object[],
): Promise<any[]> {
  const list = Array.isArray(values) ? values : [values]
  if (list.length === 0) return []
  const model = tracked(table)
  const buffer = model ? bufferFor(db) : undefined
  const rows: object[] = await db.insert(table).values(list).returning()
  if (model)
    await enqueue(
      buffer,
      rows.map((instance) => ({ action: 'create' as const, instance, model })),
    )
  return rows
}

/**
 * Deletes the rows matching `where` (e.g. `inArray(pins.id, ids)`) with `.returning()`, returns
 * them, and removes each one's activity (now, or after the outermost COMMIT).
 */
export async function remove<T extends Table>(db: Db, table: T, where: SQL | undefined): Promise<any[]> {
  const model = tracked(table)
  const buffer = model ? bufferFor(db) : undefined
  const rows: object[] = await db.delete(table).where(where).returning()
  if (model)
    await enqueue(
      buffer,
      rows.map((instance) => ({ action: 'delete' as const, instance, model })),
    )
  return rows
}

/** The Drizzle model adapter: loads rows by key for `Enrich`, one query per table. */
export const drizzleAdapter: ModelAdapter = tableAdapter('drizzle', registry)

registerAdapter(drizzleAdapter)

export * from '../orm-exports.js'
