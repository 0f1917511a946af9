/**
 * Tables as enrichment sees them, for query builders without a model layer (Drizzle, Kysely):
 * each registered table loads its rows by key in one `IN` query, and each relation named in
 * `relatedModels` adds one `IN` query on the related table for the whole page.
 */
import type { ActivityModel } from './activity-model.js'
import type { LoadOptions, ModelAdapter } from './references.js'

/** A belongs-to relation: `author: { table: 'users', foreignKey: 'authorId' }`. */
export interface Relation {
  /** The related table, registered too. */
  table: string
  /** The column of this table holding the related row's key. */
  foreignKey: string
}

/** How reference keys map to a table's key column. */
export type KeyType = 'number' | 'bigint' | 'string'

/** A registered table. `T` is the ORM's table handle (a Drizzle table object, a Kysely table name). */
export interface TableEntry<T = unknown> {
  table: T
  /** The table's name, as relations name it. */
  tableName: string
  /** The model name in references. */
  name: string
  primaryKey: string
  keyType: KeyType
  relations: Record<string, Relation>
  /** The activity model when the table is tracked. */
  model?: ActivityModel
  /** Rows whose `column` is one of `values`, in one query. */
  select(column: string, values: unknown[]): Promise<Record<string, unknown>[]>
}

const INTEGER = /^-?\d{1,15}$/
const DIGITS = /^-?\d+$/

/** Turns a reference's key string into a column value, or undefined when it cannot be one. */
export function parseKey(type: KeyType, id: string): unknown {
  if (type === 'number') return INTEGER.test(id) ? Number(id) : undefined
  if (type === 'bigint') return DIGITS.test(id) ? BigInt(id) : undefined
  return id
}

/** Registered tables by table name and by model name (Maps: names come from stored references). */
export class TableRegistry<T = unknown> {
  readonly #byTable = new Map<string, TableEntry<T>>()
  readonly #byName = new Map<string, TableEntry<T>>()

  /** Adds a table; returns a function that removes it. */
  add(entry: TableEntry<T>): () => void {
    this.#byTable.set(entry.tableName, entry)
    this.#byName.set(entry.name, entry)
    return () => {
      if (this.#byTable.get(entry.tableName) === entry) this.#byTable.delete(entry.tableName)
      if (this.#byName.get(entry.name) === entry) this.#byName.delete(entry.name)
    }
  }

  /** The entry of a table name. */
  get(tableName: string): TableEntry<T> | undefined {
    return this.#byTable.get(tableName)
  }

  /** The entry of a model name. */
  byName(name: string): TableEntry<T> | undefined {
    return this.#byName.get(name)
  }

  /** Rows of model `name` by reference key, with `related` paths (`author`, `author.team`) attached. */
  async load(name: string, ids: string[], related: string[]): Promise<Map<string, unknown>> {
    const entry = this.#byName.get(name)
    const result = new Map<string, unknown>()
    if (!entry) return result
    const values = [...new Set(ids.map((id) => parseKey(entry.keyType, id)).filter((v) => v !== undefined))]
    if (values.length === 0) return result
    const rows = await entry.select(entry.primaryKey, values)
    await this.#attach(entry, rows, related)
    const byKey = new Map(rows.map((row) => [String(row[entry.primaryKey]), row]))
    for (const id of ids) {
      const value = parseKey(entry.keyType, id)
      const row = value === undefined ? undefined : byKey.get(String(value))
      if (row) result.set(id, row)
    }
    return result
  }

  /** Loads each relation of `rows` named by `paths` (one query per relation) and sets it on them. */
  async #attach(entry: TableEntry<T>, rows: Record<string, unknown>[], paths: string[]): Promise<void> {
    const byRelation = new Map<string, string[]>()
    for (const path of paths) {
      const [head, ...rest] = path.split('.')
      const list = byRelation.get(head) ?? []
      byRelation.set(head, list)
      if (rest.length) list.push(rest.join('.'))
    }
    for (const [name, nested] of byRelation) {
      const relation = Object.hasOwn(entry.relations, name) ? entry.relations[name] : undefined
      const target = relation && this.#byTable.get(relation.table)
      if (!relation || !target)
        throw new Error(
          `${entry.name}: relatedModels names ${name}, which is not a relation to a registered table`,
        )
      const keys = [
        ...new Set(rows.map((r) => r[relation.foreignKey]).filter((k) => k !== null && k !== undefined)),
      ]
      const related = keys.length ? await target.select(target.primaryKey, keys) : []
      await this.#attach(target, related, nested)
      const byKey = new Map(related.map((r) => [String(r[target.primaryKey]), r]))
      for (const row of rows) {
        const key = row[relation.foreignKey]
        row[name] = key === null || key === undefined ? null : (byKey.get(String(key)) ?? null)
      }
    }
  }
}

/** The model adapter of a query builder whose tables live in `registry`: one query per table. */
export function tableAdapter<T>(name: string, registry: TableRegistry<T>): ModelAdapter {
  return {
    name,
    describe: () => undefined,
    hasModel: (model) => registry.byName(model) !== undefined,
    load: (model: string, ids: string[], options: LoadOptions) =>
      registry.load(model, ids, options.related ?? []),
  }
}
