/**
 * Kysely helpers (`eddy/kysely`). Kysely has no hooks, so writes that should publish go through
 * `insert` and `remove`, which run `INSERT ... RETURNING *` / `DELETE ... RETURNING *` and publish
 * the returned rows. The Kysely instance is built on `trackedDialect(dialect)`, a Dialect wrapper
 * that sees BEGIN, COMMIT, ROLLBACK and savepoints on each connection: rows written in a
 * transaction publish after the outermost COMMIT, never on rollback.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: trackedDialect(new PostgresDialect({ pool })) })
 * trackKysely(db, { tables: { pins: { name: 'Pin', actorId: (p) => p.authorId, ... } } })
 * await insert(db, 'pins', { authorId: 1, message: 'hi' })
 * ```
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Expression,
  ExpressionBuilder,
  Kysely,
  QueryId,
  SqlBool,
} from 'kysely'
import { type ActivityModel, type ActivityOptions, registerActivityModel } from '../activity-model.js'
import { CommitBuffer } from '../commit-buffer.js'
import { type PendingPublish, publishPending } from '../feed-manager.js'
import { type ModelAdapter, registerAdapter } from '../references.js'
import { type KeyType, type Relation, TableRegistry, tableAdapter } from '../tables.js'
import { shouldTrack } from '../tracking.js'

export type { ActivityOptions, KeyType, Relation }

/** A table as Eddy knows it: its model name, key, relations and (when tracked) activity options. */
export interface KyselyTableOptions<Row = any> extends ActivityOptions<Row> {
  /** The model name in references (`Pin` → `Pin:42`); default: the table name. */
  name?: string
  /** Primary key column (default `id`). */
  primaryKey?: string
  /** How reference keys become key values: `number` (default), `bigint` or `string` (UUIDs). */
  keyType?: KeyType
  /** Belongs-to relations `relatedModels` may name; each loads in one query per page. */
  relations?: Record<string, Relation>
  /** False for tables that are only enriched (e.g. users); default true. */
  track?: boolean
}

// ---------------------------------------------------------------------------------------------
// The Dialect wrapper: one CommitBuffer per connection in a transaction.

const buffers = new WeakMap<DatabaseConnection, CommitBuffer>()
/** Connections whose COMMIT succeeded but whose publishing threw: Kysely then calls rollback. */
const committed = new WeakSet<DatabaseConnection>()
/** Which connection ran a helper's query (recorded by the patched connection). */
const ranOn = new WeakMap<QueryId, DatabaseConnection>()
const patched = new WeakSet<DatabaseConnection>()

function watch(connection: DatabaseConnection): DatabaseConnection {
  if (patched.has(connection)) return connection
  patched.add(connection)
  const executeQuery = connection.executeQuery
  // Patched once on the object: Kysely's RuntimeDriver patches the same method after us.
  connection.executeQuery = function (this: DatabaseConnection, compiled: CompiledQuery) {
    if (compiled.queryId) ranOn.set(compiled.queryId, connection)
    return executeQuery.call(this, compiled) as ReturnType<DatabaseConnection['executeQuery']>
  } as DatabaseConnection['executeQuery']
  return connection
}

class TrackedDriver implements Driver {
  constructor(readonly inner: Driver) {}
  init = () => this.inner.init()
  acquireConnection = async () => watch(await this.inner.acquireConnection())
  releaseConnection = (c: DatabaseConnection) => this.inner.releaseConnection(c)
  destroy = () => this.inner.destroy()

  async beginTransaction(connection: DatabaseConnection, settings: any): Promise<void> {
    await this.inner.beginTransaction(connection, settings)
    buffers.set(connection, new CommitBuffer())
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.inner.commitTransaction(connection)
    const buffer = buffers.get(connection)
    buffers.delete(connection)
    try {
      await buffer?.commit()
    } catch (error) {
      committed.add(connection)
      throw error
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    buffers.delete(connection)
    if (committed.delete(connection)) return // COMMIT went through; only publishing failed
    await this.inner.rollbackTransaction(connection)
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: any): Promise<void> {
    await this.#inner('savepoint')(connection, name, compile)
    buffers.get(connection)?.savepoint(name)
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: any): Promise<void> {
    await this.#inner('rollbackToSavepoint')(connection, name, compile)
    buffers.get(connection)?.rollbackTo(name)
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: any): Promise<void> {
    await this.#inner('releaseSavepoint')(connection, name, compile)
    buffers.get(connection)?.release(name)
  }

  #inner(method: 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint') {
    const fn = this.inner[method]
    if (!fn) throw new Error(`this Kysely dialect does not support savepoints (${method})`)
    return fn.bind(this.inner)
  }
}

/** Wraps a Dialect so Eddy sees each connection's transactions (publishing after COMMIT). */
export function trackedDialect(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new TrackedDriver(dialect.createDriver()),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  }
}

// ---------------------------------------------------------------------------------------------
// Registration and the write helpers.

const registry = new TableRegistry<string>()

/**
 * Tells Eddy about a Kysely database's tables: tracked tables publish through `insert`/`remove`,
 * and every listed table can be enriched. Returns a function that forgets them.
 */
export function trackKysely(
  db: Kysely<any>,
  options: { tables: Record<string, KyselyTableOptions> },
): () => void {
  const forget: (() => void)[] = []
  for (const [table, { name, primaryKey, keyType, relations, track, ...activity }] of Object.entries(
    options.tables,
  )) {
    const modelName = name ?? table
    const key = primaryKey ?? 'id'
    const model =
      track === false
        ? undefined
        : registerActivityModel(`kysely:${table}`, { ...activity, name: modelName, primaryKey: key })
    forget.push(
      registry.add({
        table,
        tableName: table,
        name: modelName,
        primaryKey: key,
        keyType: keyType ?? 'number',
        relations: relations ?? {},
        model,
        select: (column, values) =>
          db
            .selectFrom(table)
            .selectAll()
            .where(column, 'in', values as any)
            .execute() as Promise<Record<string, unknown>[]>,
      }),
    )
  }
  return () => {
    for (const f of forget) f()
  }
}

async function run(
  db: Kysely<any>,
  query: { compile(): CompiledQuery },
): Promise<{ rows: any[]; connection?: DatabaseConnection }> {
  const compiled = query.compile()
  const result = await db.executeQuery(compiled)
  return { rows: result.rows as any[], connection: ranOn.get(compiled.queryId) }
}

async function enqueue(connection: DatabaseConnection | undefined, items: PendingPublish[]): Promise<void> {
  if (items.length === 0) return
  if (!connection)
    throw new Error(
      'eddy/kysely: build the Kysely instance with trackedDialect(dialect) so rows can publish after COMMIT',
    )
  const buffer = buffers.get(connection)
  if (buffer) buffer.push(...items)
  else await publishPending(items)
}

function tracked(table: string): ActivityModel | undefined {
  const model = registry.get(table)?.model
  return model && shouldTrack(model.key, model.name) ? model : undefined
}

/**
 * Inserts one row or many (one statement, `RETURNING *`) and returns the rows; a tracked table's
 * rows publish now, or after the outermost COMMIT inside a transaction.
 */
export async function insert<Row = any>(
  db: Kysely<any>,
  table: string,
  values: object | readonly object[],
): Promise<Row[]> {
  const list = Array.isArray(values) ? values : [values]
  if (list.length === 0) return []
  const { rows, connection } = await run(
    db,
    db
      .insertInto(table)
      .values(list as any)
      .returningAll(),
  )
  const model = tracked(table)
  if (model)
    await enqueue(
      connection,
      rows.map((instance) => ({ action: 'create' as const, instance, model })),
    )
  return rows
}

/**
 * Deletes the rows matching `where` (`(eb) => eb('id', 'in', ids)`) with `RETURNING *`, returns
 * them, and removes each one's activity (now, or after the outermost COMMIT).
 */
export async function remove<Row = any>(
  db: Kysely<any>,
  table: string,
  where: (eb: ExpressionBuilder<any, any>) => Expression<SqlBool>,
): Promise<Row[]> {
  const { rows, connection } = await run(
    db,
    db
      .deleteFrom(table)
      .where(where as any)
      .returningAll(),
  )
  const model = tracked(table)
  if (model)
    await enqueue(
      connection,
      rows.map((instance) => ({ action: 'delete' as const, instance, model })),
    )
  return rows
}

/** The Kysely model adapter: loads rows by key for `Enrich`, one query per table. */
export const kyselyAdapter: ModelAdapter = tableAdapter('kysely', registry)

registerAdapter(kyselyAdapter)

export * from '../orm-exports.js'
