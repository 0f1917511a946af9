/**
 * Prisma integration (`eddy/prisma`): a client extension with the same override points as the
 * TypeORM decorator, given per model. `create`, `createMany` and `createManyAndReturn` publish;
 * `delete` and `deleteMany` remove. Prisma has no after-commit hook: inside `$transaction` the
 * hooks would fire before COMMIT, so use this module's `transaction(prisma, fn)`, which publishes
 * only after the transaction commits and drops everything on rollback.
 *
 * ```ts
 * const prisma = new PrismaClient({ adapter }).$extends(eddyExtension({
 *   models: { Tweet: { actorId: (t) => t.authorId, actor: (t) => `User:${t.authorId}` } },
 * }))
 * ```
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  type ActivityModel,
  type ActivityOptions,
  getActivityModel,
  registerActivityModel,
} from '../activity-model.js'
import { CommitBuffer } from '../commit-buffer.js'
import { type PendingPublish, publishPending } from '../feed-manager.js'
import { type LoadOptions, type ModelAdapter, registerAdapter } from '../references.js'
import { shouldTrack } from '../tracking.js'

/** Options of one tracked Prisma model: the override points plus its primary key field. */
export type PrismaModelOptions<T = any> = ActivityOptions<T>

/** Options of {@link eddyExtension}. */
export interface EddyExtensionOptions {
  /** Tracked models by Prisma model name (`Tweet`), with their override points. */
  models: Record<string, PrismaModelOptions>
  /** Primary key field of models that are only enriched, e.g. `{ User: 'id' }` (default `id`). */
  keys?: Record<string, string>
}

type Pending = PendingPublish

const txScope = new AsyncLocalStorage<{ buffer: CommitBuffer; tx?: any }>()

async function enqueue(items: Pending[]): Promise<void> {
  const scope = txScope.getStore()
  if (scope) scope.buffer.push(...items)
  else await publishPending(items)
}

const delegateName = (model: string) => model.charAt(0).toLowerCase() + model.slice(1)

function relationsInclude(paths: string[]): Record<string, unknown> {
  const root: Record<string, any> = {}
  for (const path of paths) {
    let node = root
    const parts = path.split('.')
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] ??= true
      else {
        if (typeof node[part] !== 'object') node[part] = { include: {} }
        node = node[part].include
      }
    })
  }
  return root
}

let savepoints = 0

/**
 * Runs `fn` in an interactive transaction; tracked writes publish after COMMIT, none on rollback.
 * Called inside another `transaction()` (with the client or the transaction client), it runs `fn`
 * in a savepoint of that transaction instead (Prisma cannot nest interactive transactions): its
 * rows publish with the outermost COMMIT, or are dropped if `fn` throws.
 */
export async function transaction<C extends object, R>(
  prisma: C,
  fn: (tx: any) => Promise<R>,
  options?: Record<string, unknown>,
): Promise<R> {
  const outer = txScope.getStore()
  if (outer?.tx) return savepoint(outer, fn)
  const scope = { buffer: new CommitBuffer(), tx: undefined as any }
  const result = await txScope.run(scope, () =>
    (prisma as { $transaction: (...args: any[]) => Promise<R> }).$transaction(async (tx: any) => {
      scope.tx = tx
      return fn(tx)
    }, options),
  )
  await scope.buffer.commit()
  return result
}

async function savepoint<R>(
  scope: { buffer: CommitBuffer; tx?: any },
  fn: (tx: any) => Promise<R>,
): Promise<R> {
  const name = `eddy_sp_${++savepoints}`
  await scope.tx.$executeRawUnsafe(`SAVEPOINT ${name}`)
  scope.buffer.savepoint(name)
  try {
    const result = await fn(scope.tx)
    await scope.tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${name}`)
    scope.buffer.release(name)
    return result
  } catch (error) {
    await scope.tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${name}`)
    scope.buffer.rollbackTo(name)
    scope.buffer.release(name)
    throw error
  }
}

/**
 * The extension. Apply with `prisma.$extends(eddyExtension({ models: { ... } }))`; the extended
 * client is also what `Enrich` loads rows with.
 */
export function eddyExtension(options: EddyExtensionOptions) {
  for (const [name, modelOptions] of Object.entries(options.models)) {
    registerActivityModel(name, { ...modelOptions, name, primaryKey: modelOptions.primaryKey ?? 'id' })
  }
  return (client: any) => {
    let base: any = client
    const dataModel = () => base?._runtimeDataModel?.models ?? client?._runtimeDataModel?.models ?? {}
    // Model names come from references in activities: look them up as own keys only, so a
    // reference like `constructor:1` is not mistaken for a model (Object's members are `in` every object).
    const has = (object: object | undefined, model: string) =>
      object !== undefined && Object.hasOwn(object, model)
    const keyOf = (model: string) =>
      getActivityModel(model)?.primaryKey ?? (has(options.keys, model) ? options.keys![model] : 'id')
    const adapter: ModelAdapter = {
      name: 'prisma',
      describe: () => undefined,
      hasModel: (model) => has(dataModel(), model) || has(options.models, model) || has(options.keys, model),
      async load(model: string, ids: string[], load: LoadOptions): Promise<Map<string, unknown>> {
        const pk = keyOf(model)
        const type =
          dataModel()[model]?.fields?.find((f: { name: string }) => f.name === pk)?.type ?? 'String'
        const parse = (id: string) =>
          type === 'Int'
            ? /^-?\d{1,15}$/.test(id)
              ? Number(id)
              : undefined
            : type === 'BigInt'
              ? /^-?\d+$/.test(id)
                ? BigInt(id)
                : undefined
              : id
        const values = [...new Set(ids.map(parse).filter((v) => v !== undefined))]
        const result = new Map<string, unknown>()
        if (values.length === 0) return result
        const rows: Record<string, unknown>[] = await base[delegateName(model)].findMany({
          where: { [pk]: { in: values } },
          ...(load.related?.length ? { include: relationsInclude(load.related) } : {}),
        })
        const byKey = new Map(rows.map((r) => [String(r[pk]), r]))
        for (const id of ids) {
          const value = parse(id)
          const row = value === undefined ? undefined : byKey.get(String(value))
          if (row !== undefined) result.set(id, row)
        }
        return result
      },
    }
    registerAdapter(adapter)

    const tracked = (model: string): ActivityModel | undefined => {
      const registered = getActivityModel(model)
      return registered && model in options.models && shouldTrack(registered.key, registered.name)
        ? registered
        : undefined
    }
    const context = () => txScope.getStore()?.tx ?? base

    const extended = client.$extends({
      name: 'eddy',
      query: {
        $allModels: {
          async create({ model, args, query }: any) {
            const row = await query(args)
            const m = tracked(model)
            if (m) await enqueue([{ action: 'create', instance: row, model: m }])
            return row
          },
          async createManyAndReturn({ model, args, query }: any) {
            const rows = await query(args)
            const m = tracked(model)
            if (m)
              await enqueue(
                rows.map((row: object) => ({ action: 'create' as const, instance: row, model: m })),
              )
            return rows
          },
          async createMany({ model, args, query }: any) {
            const m = tracked(model)
            if (!m) return query(args)
            // createMany returns only a count: create through createManyAndReturn to get the rows.
            const rows = await context()[delegateName(model)].createManyAndReturn(args)
            return { count: rows.length }
          },
          async delete({ model, args, query }: any) {
            const row = await query(args)
            const m = tracked(model)
            if (m) await enqueue([{ action: 'delete', instance: row, model: m }])
            return row
          },
          async deleteMany({ model, args, query }: any) {
            const m = tracked(model)
            if (!m) return query(args)
            const rows = await context()[delegateName(model)].findMany({ where: args?.where })
            const result = await query(args)
            await enqueue(rows.map((row: object) => ({ action: 'delete' as const, instance: row, model: m })))
            return result
          },
        },
      },
    })
    base = extended
    return extended
  }
}

export * from '../orm-exports.js'
