/**
 * MikroORM integration (`eddy/mikro-orm`): `@Activity()` marks an entity (or `registerEntity`, or
 * a static `activity` member), and an `EventSubscriber` publishes rows the unit of work inserts
 * (`afterCreate`) and removes them on `afterDelete`. Events are buffered per **root** transaction
 * and published from its `afterTransactionCommit` (MikroORM reports commits of the outermost
 * transaction only); rows written in a savepoint that rolled back are dropped.
 *
 * ```ts
 * @Activity({ actorAttr: 'author', relatedModels: ['author'] })
 * @Entity()
 * class Pin { @PrimaryKey({ type: 'number' }) id!: number; @ManyToOne(() => User) author!: User }
 * const orm = await MikroORM.init({ ... }); trackOrm(orm)
 * ```
 */
import type {
  EntityMetadata,
  EventArgs,
  EventSubscriber,
  MikroORM,
  TransactionEventArgs,
} from '@mikro-orm/core'
import {
  type ActivityModel,
  type ActivityOptions,
  getActivityModel,
  type ModelClass,
  registerActivityModel,
} from '../activity-model.js'
import { type PendingPublish, publishPending } from '../feed-manager.js'
import { type LoadOptions, type ModelAdapter, type ModelInfo, registerAdapter } from '../references.js'
import { shouldTrack, withoutTracking } from '../tracking.js'

export type { ActivityOptions }

/** Classes registered without a primary key: it is read from MikroORM's metadata once known. */
const defaultKey = new WeakSet<ModelClass>()

/** Registers an entity class as an activity model (what `@Activity()` does). */
export function registerEntity<T>(
  target: abstract new (...args: any[]) => T,
  options: ActivityOptions<T> = {},
) {
  if (options.primaryKey === undefined) defaultKey.add(target)
  return registerActivityModel(target, { ...options, primaryKey: options.primaryKey ?? 'id' })
}

/** Marks an entity as an activity model (stream-django's `Activity` mixin). */
export function Activity<T = any>(options: ActivityOptions<T> = {}): ClassDecorator {
  return (target) => {
    registerEntity(target as any, options)
  }
}

/** The registration of an entity, made on first sight from a static `activity` member; pk from metadata. */
function activityModelOf(meta: EntityMetadata): ActivityModel | undefined {
  const target = meta.class as ModelClass | undefined
  if (!target) return undefined
  let model = getActivityModel(target)
  if (!model) {
    const options = (target as { activity?: ActivityOptions }).activity
    if (!options || typeof options !== 'object') return undefined
    model = registerEntity(target as any, options)
  }
  if (defaultKey.has(target) && meta.primaryKeys.length === 1) {
    defaultKey.delete(target)
    if (meta.primaryKeys[0] !== model.primaryKey)
      model = registerActivityModel(target, { ...model.options, primaryKey: meta.primaryKeys[0] })
  }
  return model
}

/**
 * A detached copy of an entity: own fields as plain data (MikroORM keeps them behind accessors),
 * the entity's prototype, so class members, the metadata and references still work.
 */
function snapshot(entity: object): object {
  const copy = Object.create(Object.getPrototypeOf(entity))
  for (const key of Object.keys(entity)) {
    Object.defineProperty(copy, key, {
      value: (entity as Record<string, unknown>)[key],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy
}

// ---------------------------------------------------------------------------------------------
// Transactions. A savepoint's transaction object points to its parent through a symbol; MikroORM
// reports neither savepoint commits nor savepoint rollbacks, so the connection records rollbacks.

interface Buffered {
  item: PendingPublish
  savepoints: object[]
}

const buffers = new WeakMap<object, Buffered[]>()
const rolledBack = new WeakSet<object>()

function parentOf(trx: object): object | undefined {
  const symbol = Object.getOwnPropertySymbols(trx).find((s) => s.description === 'parentTransaction')
  return symbol ? (trx as Record<symbol, object>)[symbol] : undefined
}

async function enqueue(args: EventArgs<any>, action: 'create' | 'delete'): Promise<void> {
  const model = activityModelOf(args.meta)
  if (!model || !shouldTrack(model.key, model.name)) return
  const item: PendingPublish = { action, instance: snapshot(args.entity), model }
  const trx = args.em.getTransactionContext<object>()
  if (!trx) return publishPending([item])
  const savepoints: object[] = []
  let root = trx
  for (let parent = parentOf(root); parent; parent = parentOf(root)) {
    savepoints.push(root)
    root = parent
  }
  const list = buffers.get(root) ?? []
  buffers.set(root, list)
  list.push({ item, savepoints })
}

const subscribers = new WeakMap<MikroORM, EddySubscriber>()

/**
 * The subscriber. `trackOrm(orm)` registers it; or list `new EddySubscriber()` in the ORM's
 * `subscribers` option (then call `trackOrm` too, for enrichment and savepoint rollbacks).
 */
export class EddySubscriber implements EventSubscriber {
  /** False once `trackOrm`'s stop function ran. */
  active = true

  async afterCreate(args: EventArgs<any>): Promise<void> {
    if (this.active) await enqueue(args, 'create')
  }

  async afterDelete(args: EventArgs<any>): Promise<void> {
    if (this.active) await enqueue(args, 'delete')
  }

  async afterTransactionCommit(args: TransactionEventArgs): Promise<void> {
    const root = args.transaction as object | undefined
    const list = root && buffers.get(root)
    if (!list) return
    buffers.delete(root)
    await publishPending(list.filter((b) => !b.savepoints.some((s) => rolledBack.has(s))).map((b) => b.item))
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    if (args.transaction) buffers.delete(args.transaction as object)
  }
}

// ---------------------------------------------------------------------------------------------
// The adapter: references and loading rows for enrichment.

const orms = new Set<MikroORM>()

function metadataNamed(name: string): { orm: MikroORM; meta: EntityMetadata } | undefined {
  const key = getActivityModel(name)?.key
  for (const orm of orms) {
    for (const meta of Object.values(orm.getMetadata().getAll())) {
      if (meta.class === key || meta.className === name) return { orm, meta }
    }
  }
  return undefined
}

const NUMERIC = new Set(['number', 'integer', 'int', 'smallint', 'tinyint', 'mediumint'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function parseKey(meta: EntityMetadata): (id: string) => unknown {
  const prop = meta.properties[meta.primaryKeys[0]]
  const type = String(prop?.runtimeType ?? prop?.type ?? '').toLowerCase()
  if (NUMERIC.has(type)) return (id) => (/^-?\d{1,15}$/.test(id) ? Number(id) : undefined)
  if (type === 'bigint') return (id) => (/^-?\d+$/.test(id) ? id : undefined)
  if (type === 'uuid') return (id) => (UUID.test(id) ? id.toLowerCase() : undefined)
  return (id) => id
}

/** The MikroORM model adapter (registered when `eddy/mikro-orm` is imported). */
export const mikroOrmAdapter: ModelAdapter = {
  name: 'mikro-orm',
  describe(value: object): ModelInfo | undefined {
    const meta = (value as { __meta?: EntityMetadata }).__meta
    if (!meta || !Array.isArray(meta.primaryKeys) || meta.primaryKeys.length !== 1) return undefined
    const name = (meta.class && getActivityModel(meta.class)?.name) ?? meta.className
    return { model: name, pk: (value as Record<string, unknown>)[meta.primaryKeys[0]] }
  },
  hasModel: (name) => metadataNamed(name) !== undefined,
  async load(name: string, ids: string[], options: LoadOptions): Promise<Map<string, unknown>> {
    const found = metadataNamed(name)
    const result = new Map<string, unknown>()
    if (!found) return result
    if (found.meta.primaryKeys.length !== 1) return result
    const parse = parseKey(found.meta)
    const values = [...new Set(ids.map(parse).filter((v) => v !== undefined))]
    if (values.length === 0) return result
    const pk = found.meta.primaryKeys[0]
    const em = found.orm.em.fork({ clear: true })
    const rows = (await em.find(found.meta.class, { [pk]: { $in: values } } as never, {
      populate: (options.related ?? []) as never,
    })) as Record<string, unknown>[]
    const byKey = new Map(rows.map((row) => [String(row[pk]).toLowerCase(), row]))
    for (const id of ids) {
      const value = parse(id)
      const row = value === undefined ? undefined : byKey.get(String(value).toLowerCase())
      if (row) result.set(id, row)
    }
    return result
  },
}

registerAdapter(mikroOrmAdapter)

/**
 * Tracks an initialized ORM: registers the subscriber (on `orm.em`, so forks made afterwards
 * have it), records savepoint rollbacks, and lets `Enrich` load its entities. Returns a function
 * that stops tracking it.
 */
export function trackOrm(orm: MikroORM): () => void {
  const events = orm.em.getEventManager()
  let subscriber = [...events.getSubscribers()].find((s) => s instanceof EddySubscriber) as
    | EddySubscriber
    | undefined
  if (!subscriber) {
    subscriber = new EddySubscriber()
    events.registerSubscriber(subscriber)
  }
  subscriber.active = true
  subscribers.set(orm, subscriber)
  orms.add(orm)
  for (const meta of Object.values(orm.getMetadata().getAll())) activityModelOf(meta)
  const connection = orm.em.getConnection() as unknown as {
    rollback: (ctx: object, ...rest: unknown[]) => unknown
  }
  const rollback = connection.rollback
  connection.rollback = function (ctx: object, ...rest: unknown[]) {
    rolledBack.add(ctx)
    return rollback.call(this, ctx, ...rest)
  }
  return () => {
    const tracked = subscribers.get(orm)
    if (tracked) tracked.active = false
    orms.delete(orm)
    connection.rollback = rollback
  }
}

/** Runs seeds or fixtures without publishing (stream-django skips `loaddata`'s raw saves). */
export function loadFixtures<T>(fn: () => T): T {
  return withoutTracking(fn, 'seed')
}

export * from '../orm-exports.js'
