/**
 * TypeORM integration (`eddy/typeorm`): `@Activity()` marks an entity; rows inserted through
 * `save`, `insert` (bulk too) and query-builder inserts publish an activity once the outermost
 * transaction commits, and `remove`/`softRemove` take it back. Migrations run untracked.
 *
 * ```ts
 * @Activity({ actorAttr: 'author' })
 * @Entity()
 * class Pin { @PrimaryGeneratedColumn() id!: number; @ManyToOne(() => User) author!: User; ... }
 * await trackDataSource(dataSource) // or subscribers: [EddySubscriber] in the DataSource options
 * ```
 */

import {
  DataSource,
  type EntityMetadata,
  type EntitySubscriberInterface,
  EventSubscriber,
  getMetadataArgsStorage,
  In,
  type InsertEvent,
  type QueryRunner,
  type RecoverEvent,
  type RemoveEvent,
  type SoftRemoveEvent,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm'
import type { ModelClass } from '../activity-model.js'
import {
  type ActivityModel,
  type ActivityOptions,
  getActivityModel,
  registerActivityModel,
} from '../activity-model.js'
import { type PendingPublish, publishPending } from '../feed-manager.js'
import { type LoadOptions, type ModelAdapter, type ModelInfo, registerAdapter } from '../references.js'
import { shouldTrack, withoutTracking } from '../tracking.js'

export type { ActivityOptions }

/** The single-column primary key property of an entity class, from TypeORM's decorator metadata. */
export function primaryKeyOf(target: ModelClass): string | undefined {
  if (pkCache.has(target)) return pkCache.get(target)
  const columns = getMetadataArgsStorage()
    .filterColumns(target)
    .filter((c) => c.options.primary)
  const pk = columns.length === 1 ? columns[0].propertyName : undefined
  // Decorators run before a class is used, so the answer is stable once asked after them.
  if (getMetadataArgsStorage().tables.some((t) => t.target === target)) pkCache.set(target, pk)
  return pk
}
const pkCache = new WeakMap<ModelClass, string | undefined>()

/**
 * Marks an entity as an activity model (stream-django's `Activity` mixin). Every override point
 * can be given here or as a member of the class (`get activityVerb() { ... }`).
 */
export function Activity<T = any>(options: ActivityOptions<T> = {}): ClassDecorator {
  return (target) => {
    registerActivityModel(target, {
      ...options,
      primaryKey: options.primaryKey ?? primaryKeyOf(target) ?? 'id',
    })
  }
}

/** Registers an entity class without the decorator. */
export function registerEntity<T>(
  target: new (...args: any[]) => T,
  options: ActivityOptions<T> = {},
): ActivityModel {
  return registerActivityModel(target, {
    ...options,
    primaryKey: options.primaryKey ?? primaryKeyOf(target) ?? 'id',
  })
}

// ---------------------------------------------------------------------------------------------
// The adapter: references and loading rows for enrichment.

const dataSources = new Set<DataSource>()

const entityClasses = new WeakMap<ModelClass, boolean>()
function isEntityClass(ctor: unknown): ctor is ModelClass {
  if (typeof ctor !== 'function') return false
  const known = entityClasses.get(ctor)
  if (known) return true
  const found = getMetadataArgsStorage().tables.some((t) => t.target === ctor)
  if (found) entityClasses.set(ctor, true)
  return found
}

function metadataByName(model: string): EntityMetadata | undefined {
  for (const ds of dataSources) {
    if (!ds.isInitialized) continue
    const found = ds.entityMetadatas.find((m) => m.name === model)
    if (found) return found
  }
  return undefined
}

const INT_TYPES = new Set(['int', 'integer', 'int2', 'int4', 'smallint', 'mediumint', 'tinyint', 'increment'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** How a reference's key string maps to a column value (and back, for matching). */
function keyCodec(
  metadata: EntityMetadata,
): { parse(id: string): unknown; norm(value: unknown): string } | undefined {
  if (metadata.primaryColumns.length !== 1) return undefined
  const column = metadata.primaryColumns[0]
  const type = column.type
  const typeName = typeof type === 'function' ? type.name.toLowerCase() : String(type).toLowerCase()
  if (typeName === 'number' || INT_TYPES.has(typeName) || column.generationStrategy === 'increment') {
    return {
      parse: (id) => (/^-?\d{1,15}$/.test(id) ? Number(id) : undefined),
      norm: (v) => String(Number(v)),
    }
  }
  if (typeName === 'bigint')
    return { parse: (id) => (/^-?\d+$/.test(id) ? id : undefined), norm: (v) => String(v) }
  if (typeName === 'uuid' || column.generationStrategy === 'uuid') {
    return {
      parse: (id) => (UUID.test(id) ? id.toLowerCase() : undefined),
      norm: (v) => String(v).toLowerCase(),
    }
  }
  return { parse: (id) => id, norm: (v) => String(v) }
}

/** The metadata of an entity class in a tracked, initialized DataSource. */
function metadataOf(target: unknown): EntityMetadata | undefined {
  for (const ds of dataSources)
    if (ds.isInitialized && ds.hasMetadata(target as never)) return ds.getMetadata(target as never)
  return undefined
}

/**
 * The entity with its many-to-one (and owning one-to-one) relations that were not loaded filled in
 * as key-only instances. TypeORM keeps no foreign key on an entity read without its relation, so
 * the keys are read with one SELECT (`loadRelationIds`) while the row exists; a row already gone,
 * or one whose relations are all loaded, is returned as it is.
 */
async function withRelationKeys(entity: object): Promise<object> {
  const metadata = metadataOf(entity.constructor)
  if (!metadata) return entity
  const missing = metadata.relations.filter(
    (r) =>
      (r.isManyToOne || r.isOneToOneOwner) &&
      (entity as Record<string, unknown>)[r.propertyName] === undefined,
  )
  const where = metadata.getEntityIdMap(entity)
  if (missing.length === 0 || !where) return entity
  const row = (await metadata.dataSource.getRepository(metadata.target).findOne({
    where: where as never,
    loadRelationIds: { relations: missing.map((r) => r.propertyName), disableMixedMap: true },
  })) as Record<string, unknown> | null
  if (!row) return entity
  const copy = Object.assign(Object.create(Object.getPrototypeOf(entity)), entity)
  for (const relation of missing) {
    const key = row[relation.propertyName]
    const related = relation.inverseEntityMetadata.target
    if (key && typeof key === 'object' && typeof related === 'function')
      copy[relation.propertyName] = Object.assign(Object.create(related.prototype), key)
  }
  return copy
}

/** The TypeORM model adapter (registered when `eddy/typeorm` is imported). */
export const typeormAdapter: ModelAdapter = {
  name: 'typeorm',
  describe(value: object): ModelInfo | undefined {
    let proto = Object.getPrototypeOf(value)
    while (proto && proto !== Object.prototype) {
      const ctor = proto.constructor
      if (isEntityClass(ctor)) {
        const pk = primaryKeyOf(ctor)
        if (!pk) return undefined
        return {
          model: getActivityModel(ctor)?.name ?? ctor.name,
          pk: (value as Record<string, unknown>)[pk],
        }
      }
      proto = Object.getPrototypeOf(proto)
    }
    return undefined
  },
  hasModel(model: string): boolean {
    return metadataByName(model) !== undefined
  },
  // The explicit activityCreated/activityDeleted on a row read without its relations (see above).
  snapshot: withRelationKeys,
  async load(model: string, ids: string[], options: LoadOptions): Promise<Map<string, unknown>> {
    const metadata = metadataByName(model)
    const result = new Map<string, unknown>()
    if (!metadata) return result
    const codec = keyCodec(metadata)
    if (!codec)
      throw new Error(`${model} has a composite primary key; enrich it with a fetch${model}Instances hook`)
    const values = [...new Set(ids.map((id) => codec.parse(id)).filter((v) => v !== undefined))]
    if (values.length === 0) return result
    const pk = metadata.primaryColumns[0].propertyName
    const find: Record<string, unknown> = { where: { [pk]: In(values) } }
    if (options.related?.length) find.relations = relationsObject(options.related)
    const rows = await metadata.dataSource.getRepository(metadata.target).find(find)
    const byKey = new Map(rows.map((row) => [codec.norm((row as Record<string, unknown>)[pk]), row]))
    for (const id of ids) {
      const value = codec.parse(id)
      if (value === undefined) continue
      const row = byKey.get(codec.norm(value))
      if (row !== undefined) result.set(id, row)
    }
    return result
  },
}

registerAdapter(typeormAdapter)

// ---------------------------------------------------------------------------------------------
// Tracking: the subscriber, with per-transaction buffering.

interface Pending extends PendingPublish {
  /** Savepoint depth the row was written at; an inner rollback drops deeper items. */
  depth: number
}

const buffers = new WeakMap<QueryRunner, Pending[]>()

function defined(source: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (!source) return out
  for (const [k, v] of Object.entries(source)) if (v !== undefined) out[k] = v
  return out
}

/**
 * A detached copy of the row as an instance of the entity class (so class members work), with
 * related rows given as plain objects (`save({ author: { id: 1 } })`) made instances too, so
 * they can be referenced (`User:1`).
 */
function snapshot(metadata: EntityMetadata, ...sources: (object | undefined)[]): object {
  const target = metadata.target
  const out = typeof target === 'function' ? Object.create(target.prototype) : {}
  for (const source of sources) Object.assign(out, defined(source))
  for (const relation of metadata.relations) {
    const value = out[relation.propertyName]
    const related = relation.inverseEntityMetadata.target
    if (
      value &&
      typeof value === 'object' &&
      Object.getPrototypeOf(value) === Object.prototype &&
      typeof related === 'function'
    ) {
      out[relation.propertyName] = Object.assign(Object.create(related.prototype), value)
    }
  }
  return out
}

/** `['author', 'author.profile']` → `{ author: { profile: true } }` (TypeORM 1 relation syntax). */
export function relationsObject(paths: string[]): Record<string, unknown> {
  const root: Record<string, any> = {}
  for (const path of paths) {
    let node = root
    const parts = path.split('.')
    parts.forEach((part, i) => {
      if (i === parts.length - 1)
        node[part] = node[part] && typeof node[part] === 'object' ? node[part] : true
      else node = node[part] = node[part] && typeof node[part] === 'object' ? node[part] : {}
    })
  }
  return root
}

async function enqueue(queryRunner: QueryRunner | undefined, item: Omit<Pending, 'depth'>): Promise<void> {
  if (queryRunner?.isTransactionActive) {
    const list = buffers.get(queryRunner) ?? []
    buffers.set(queryRunner, list)
    list.push({ ...item, depth: (queryRunner as { transactionDepth?: number }).transactionDepth ?? 1 })
    return
  }
  await publishPending([item])
}

function trackedModel(metadata: EntityMetadata): ActivityModel | undefined {
  const model = getActivityModel(metadata.target)
  if (!model) return undefined
  return shouldTrack(model.key, model.name) ? model : undefined
}

/**
 * The subscriber. Add it with {@link trackDataSource}, or list it in the DataSource's
 * `subscribers` option (then call `trackDataSource` too if you enrich before the first write).
 */
@EventSubscriber()
export class EddySubscriber implements EntitySubscriberInterface {
  async afterInsert(event: InsertEvent<any>): Promise<void> {
    const model = trackedModel(event.metadata)
    if (!model || !event.entity) return
    dataSources.add(event.connection)
    const instance = snapshot(event.metadata, event.entity)
    await enqueue(event.queryRunner, { action: 'create', instance, model })
  }

  async afterRemove(event: RemoveEvent<any>): Promise<void> {
    await this.#removed(event)
  }

  async afterSoftRemove(event: SoftRemoveEvent<any>): Promise<void> {
    await this.#removed(event)
  }

  async afterRecover(event: RecoverEvent<any>): Promise<void> {
    const model = trackedModel(event.metadata)
    if (!model || !event.entity) return
    const instance = snapshot(event.metadata, event.databaseEntity, event.entity)
    await enqueue(event.queryRunner, { action: 'create', instance, model })
  }

  async #removed(event: RemoveEvent<any> | SoftRemoveEvent<any>): Promise<void> {
    const model = trackedModel(event.metadata)
    // repository.delete(criteria) reports no rows: nothing to remove here (use activityDeleted).
    if (!model || (!event.entity && !event.databaseEntity)) return
    dataSources.add(event.connection)
    const ids = event.entityId && typeof event.entityId === 'object' ? event.entityId : undefined
    const instance = snapshot(event.metadata, event.databaseEntity, event.entity, ids)
    await enqueue(event.queryRunner, { action: 'delete', instance, model })
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const runner = event.queryRunner
    const list = buffers.get(runner)
    if (!list) return
    if (runner.isTransactionActive) {
      // A savepoint was released: its events now belong to the enclosing transaction.
      const depth = (runner as { transactionDepth?: number }).transactionDepth ?? 1
      for (const item of list) item.depth = Math.min(item.depth, depth)
      return
    }
    buffers.delete(runner)
    await publishPending(list)
  }

  async afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    const runner = event.queryRunner
    const list = buffers.get(runner)
    if (!list) return
    if (!runner.isTransactionActive) {
      buffers.delete(runner)
      return
    }
    const depth = (runner as { transactionDepth?: number }).transactionDepth ?? 1
    buffers.set(
      runner,
      list.filter((item) => item.depth <= depth),
    )
  }
}

function ensureSubscriber(ds: DataSource): void {
  if (!ds.subscribers.some((s) => s instanceof EddySubscriber)) ds.subscribers.push(new EddySubscriber())
}

/**
 * Tracks a DataSource: adds the subscriber (now, or when it initializes) and lets `Enrich` load
 * its entities. Returns a function that stops tracking it.
 */
export function trackDataSource(ds: DataSource): () => void {
  dataSources.add(ds)
  if (ds.isInitialized) ensureSubscriber(ds)
  else {
    const initialize = ds.initialize.bind(ds)
    ds.initialize = async () => {
      const result = await initialize()
      ensureSubscriber(ds)
      return result
    }
  }
  return () => {
    dataSources.delete(ds)
    const i = ds.subscribers.findIndex((s) => s instanceof EddySubscriber)
    if (i >= 0) ds.subscribers.splice(i, 1)
  }
}

/** Runs seeds or fixtures without publishing (stream-django skips `loaddata`'s raw saves). */
export function loadFixtures<T>(fn: () => T): T {
  return withoutTracking(fn, 'seed')
}

// Migrations never publish: TypeORM's migration runs (CLI, `migrationsRun`, `runMigrations()`,
// `undoLastMigration()`) execute in an untracked scope that ends with them.
const PATCHED = Symbol.for('eddy.typeorm.migrations')
const proto = DataSource.prototype as any
if (!proto[PATCHED]) {
  proto[PATCHED] = true
  for (const name of ['runMigrations', 'undoLastMigration'] as const) {
    const original = proto[name]
    proto[name] = function (this: DataSource, ...args: unknown[]) {
      return withoutTracking(() => original.apply(this, args), 'migration')
    }
  }
}

export * from '../orm-exports.js'
