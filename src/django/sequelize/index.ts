/**
 * Sequelize integration (`eddy/sequelize`): models opt in the stream-django way (a static
 * `activity` member, an `activity` option of `Model.init`, or `registerModel`), and
 * `trackSequelize(sequelize)` adds global hooks. `create`/`save` of a new row and `bulkCreate`
 * publish; `instance.destroy()` and `Model.destroy({ where })` remove (per-row hooks are forced
 * for the bulk form); `restore` publishes again. Inside a transaction, publishing waits for the
 * root transaction's `afterCommit`, and rows of a savepoint that rolled back are dropped.
 *
 * ```ts
 * class Pin extends Model {
 *   static activity: ActivityOptions<Pin> = { actorAttr: 'author', relatedModels: ['author'] }
 * }
 * trackSequelize(sequelize)
 * ```
 */
import { Model, type ModelStatic, type Sequelize, type Transaction } from 'sequelize'
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

type AnyModel = ModelStatic<Model>

/** Marks a model as an activity model (the alternative to a static `activity` member). */
export function registerModel<M extends Model>(
  model: ModelStatic<M>,
  options: ActivityOptions<M> = {},
): ActivityModel {
  return registerActivityModel(model, {
    ...options,
    name: options.name ?? model.name,
    primaryKey: options.primaryKey ?? model.primaryKeyAttribute ?? 'id',
  })
}

/** The registration of a model class, made on first sight from `static activity` or `init({ activity })`. */
function activityModelOf(model: AnyModel): ActivityModel | undefined {
  const found = getActivityModel(model)
  if (found) return found
  const options = (model as { activity?: ActivityOptions }).activity ?? (model.options as any)?.activity
  return options && typeof options === 'object' ? registerModel(model, options) : undefined
}

function tracked(model: AnyModel | undefined): ActivityModel | undefined {
  const found = model && activityModelOf(model)
  return found && shouldTrack(found.key, found.name) ? found : undefined
}

// ---------------------------------------------------------------------------------------------
// Rows as they were when written: a detached instance, with belongs-to associations that were
// not loaded given as key-only instances, so `actorAttr: 'author'` references `User:<authorId>`.

const snapshots = new WeakSet<Model>()

function snapshot(instance: Model): Model {
  // A snapshot is taken by the hook and again on the way out (publishable): once is enough.
  if (snapshots.has(instance)) return instance
  const model = instance.constructor as AnyModel
  const copy = model.build({ ...(instance as any).dataValues }, { isNewRecord: false, raw: true })
  for (const [as, association] of Object.entries(model.associations)) {
    const loaded = (instance as any)[as]
    if (loaded !== undefined) (copy as any)[as] = loaded
    else if (association.associationType === 'BelongsTo') {
      const key = instance.get((association as any).foreignKey as string)
      const target = association.target as AnyModel
      const targetKey = (association as any).targetKey ?? target.primaryKeyAttribute
      if (key !== undefined && key !== null)
        (copy as any)[as] = target.build({ [targetKey]: key }, { isNewRecord: false, raw: true })
    }
  }
  snapshots.add(copy)
  return copy
}

// ---------------------------------------------------------------------------------------------
// Transactions: buffered per root transaction (found by walking `t.parent`); published from the
// root's afterCommit. Sequelize runs afterCommit hooks even when COMMIT itself fails, and has no
// hook for savepoint rollbacks, so the query interface records both.

interface Buffered {
  item: PendingPublish
  /** The savepoints between the writing transaction and the root. */
  savepoints: Transaction[]
}

const buffers = new WeakMap<Transaction, Buffered[]>()
const committed = new WeakSet<Transaction>()
const rolledBack = new WeakSet<Transaction>()

async function enqueue(options: { transaction?: Transaction | null } | undefined, items: PendingPublish[]) {
  const t = options?.transaction
  if (!t) return publishPending(items)
  const savepoints: Transaction[] = []
  let root = t
  while ((root as any).parent) {
    savepoints.push(root)
    root = (root as any).parent
  }
  let buffer = buffers.get(root)
  if (!buffer) {
    const list: Buffered[] = []
    buffer = list
    buffers.set(root, list)
    root.afterCommit(async () => {
      buffers.delete(root)
      if (!committed.has(root)) return
      await publishPending(
        list.filter((b) => !b.savepoints.some((s) => rolledBack.has(s))).map((b) => b.item),
      )
    })
  }
  for (const item of items) buffer.push({ item, savepoints })
}

const created = (instance: Model, model: ActivityModel): PendingPublish => ({
  action: 'create',
  instance: snapshot(instance),
  model,
})
const deleted = (instance: Model, model: ActivityModel): PendingPublish => ({
  action: 'delete',
  instance: snapshot(instance),
  model,
})

async function onCreate(instance: Model, options: any): Promise<void> {
  const model = tracked(instance.constructor as AnyModel)
  if (model) await enqueue(options, [created(instance, model)])
}

async function onDestroy(instance: Model, options: any): Promise<void> {
  const model = tracked(instance.constructor as AnyModel)
  if (model) await enqueue(options, [deleted(instance, model)])
}

async function onBulkCreate(instances: Model[], options: any): Promise<void> {
  // individualHooks: afterCreate already ran per row. ignoreDuplicates/updateOnDuplicate: Sequelize
  // cannot say which rows were inserted, so they are not tracked (use activityCreated).
  if (options.individualHooks || options.ignoreDuplicates || options.updateOnDuplicate) return
  const model = tracked(instances[0]?.constructor as AnyModel)
  if (model)
    await enqueue(
      options,
      instances.map((i) => created(i, model)),
    )
}

/** Bulk destroy/restore report only `where`: ask Sequelize for per-row hooks on tracked models. */
function forceRowHooks(options: any): void {
  if (tracked(options.model)) options.individualHooks = true
}

// ---------------------------------------------------------------------------------------------
// The adapter: references and loading rows for enrichment.

const instances = new Set<Sequelize>()

function modelNamed(name: string): AnyModel | undefined {
  const key = getActivityModel(name)?.key as AnyModel | undefined
  if (typeof key === 'function' && key.prototype instanceof Model) return key
  for (const sequelize of instances) if (sequelize.isDefined(name)) return sequelize.model(name) as AnyModel
  return undefined
}

const INTEGER = new Set(['INTEGER', 'SMALLINT', 'TINYINT', 'MEDIUMINT'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** How a reference's key maps to the primary key column's values. */
function parseKey(model: AnyModel): (id: string) => unknown {
  const type = (model.rawAttributes[model.primaryKeyAttribute]?.type as { key?: string } | undefined)?.key
  if (type && INTEGER.has(type)) return (id) => (/^-?\d{1,15}$/.test(id) ? Number(id) : undefined)
  if (type === 'BIGINT') return (id) => (/^-?\d+$/.test(id) ? id : undefined)
  if (type === 'UUID') return (id) => (UUID.test(id) ? id.toLowerCase() : undefined)
  return (id) => id
}

/** `['author', 'author.profile']` → Sequelize's nested `include`. */
export function includeOf(paths: string[]): { association: string; include: any[] }[] {
  const root: { association: string; include: any[] }[] = []
  for (const path of paths) {
    let level = root
    for (const part of path.split('.')) {
      let node = level.find((n) => n.association === part)
      if (!node) {
        node = { association: part, include: [] }
        level.push(node)
      }
      level = node.include
    }
  }
  return root
}

/** The Sequelize model adapter (registered when `eddy/sequelize` is imported). */
export const sequelizeAdapter: ModelAdapter = {
  name: 'sequelize',
  describe(value: object): ModelInfo | undefined {
    if (!(value instanceof Model)) return undefined
    const model = value.constructor as AnyModel
    return { model: getActivityModel(model)?.name ?? model.name, pk: value.get(model.primaryKeyAttribute) }
  },
  hasModel: (name) => modelNamed(name) !== undefined,
  // The explicit activityCreated/activityDeleted reference an unloaded belongs-to as the hooks do.
  snapshot: (instance) => (instance instanceof Model ? snapshot(instance) : instance),
  async load(name: string, ids: string[], options: LoadOptions): Promise<Map<string, unknown>> {
    const model = modelNamed(name)
    const result = new Map<string, unknown>()
    if (!model) return result
    const parse = parseKey(model)
    const values = [...new Set(ids.map(parse).filter((v) => v !== undefined))]
    if (values.length === 0) return result
    const pk = model.primaryKeyAttribute
    const rows = await model.findAll({
      where: { [pk]: values },
      ...(options.related?.length ? { include: includeOf(options.related) } : {}),
    })
    const byKey = new Map(rows.map((row) => [String(row.get(pk)).toLowerCase(), row]))
    for (const id of ids) {
      const value = parse(id)
      const row = value === undefined ? undefined : byKey.get(String(value).toLowerCase())
      if (row) result.set(id, row)
    }
    return result
  },
}

registerAdapter(sequelizeAdapter)

const HOOKS = [
  ['afterCreate', onCreate],
  ['afterBulkCreate', onBulkCreate],
  ['afterDestroy', onDestroy],
  ['beforeBulkDestroy', forceRowHooks],
  ['afterRestore', onCreate],
  ['beforeBulkRestore', forceRowHooks],
] as const
const HOOK_NAME = 'eddy'

/**
 * Tracks a Sequelize instance: global hooks for every model (defined before or after this call),
 * and loading its models for `Enrich`. Returns a function that stops tracking it.
 */
export function trackSequelize(sequelize: Sequelize): () => void {
  if (instances.has(sequelize)) return () => untrack(sequelize)
  instances.add(sequelize)
  for (const model of Object.values(sequelize.models)) activityModelOf(model as AnyModel)
  for (const [hook, fn] of HOOKS) sequelize.addHook(hook as any, HOOK_NAME, fn as any)
  const qi = sequelize.getQueryInterface() as any
  const { commitTransaction, rollbackTransaction } = qi
  qi.commitTransaction = async function (transaction: Transaction, options: unknown) {
    await commitTransaction.call(this, transaction, options)
    committed.add(transaction)
  }
  qi.rollbackTransaction = function (transaction: Transaction, options: unknown) {
    rolledBack.add(transaction)
    return rollbackTransaction.call(this, transaction, options)
  }
  restore.set(sequelize, () => {
    qi.commitTransaction = commitTransaction
    qi.rollbackTransaction = rollbackTransaction
  })
  return () => untrack(sequelize)
}

const restore = new WeakMap<Sequelize, () => void>()

function untrack(sequelize: Sequelize): void {
  if (!instances.delete(sequelize)) return
  for (const [hook] of HOOKS) sequelize.removeHook(hook as any, HOOK_NAME)
  restore.get(sequelize)?.()
  restore.delete(sequelize)
}

/** Runs seeds or fixtures without publishing (stream-django skips `loaddata`'s raw saves). */
export function loadFixtures<T>(fn: () => T): T {
  return withoutTracking(fn, 'seed')
}

export * from '../orm-exports.js'
