/**
 * Model references (`Tweet:42`) and the registry of ORM adapters that turn them back into rows.
 * A reference is the model (entity) name, a colon and the primary key, whatever its type.
 */

/** A model instance's name and primary key. */
export interface ModelInfo {
  model: string
  pk: unknown
}

/** Options of {@link ModelAdapter.load}. */
export interface LoadOptions {
  /** Relations to load in the same query (the `relatedModels` override point). */
  related?: string[]
}

/** What an ORM integration provides so references can be created and enriched. */
export interface ModelAdapter {
  /** e.g. `typeorm`, `prisma`. */
  readonly name: string
  /** Name and primary key of one of this ORM's model instances, or undefined. */
  describe(value: object): ModelInfo | undefined
  /** True when this adapter can load rows of the named model. */
  hasModel(model: string): boolean
  /**
   * Loads rows by primary key (as they appear in references) in one query. The result is keyed
   * by the primary key as a string; ids that cannot be a key of this model are left out.
   */
  load(model: string, ids: string[], options: LoadOptions): Promise<Map<string, unknown>>
  /**
   * The row as it publishes, when the ORM needs a copy: relations that were not loaded filled in
   * so references work (a belongs-to as a key-only instance of its model, referenced by its
   * foreign key). The hooks publish such copies; the explicit `activityCreated`/`activityDeleted`
   * go through this too, so a row read without its relations publishes the same activity.
   */
  snapshot?(instance: object): object | Promise<object>
}

const adapters: ModelAdapter[] = []

/** Adds an ORM adapter (the TypeORM and Prisma integrations do this). Returns a remover. */
export function registerAdapter(adapter: ModelAdapter): () => void {
  if (!adapters.includes(adapter)) adapters.unshift(adapter)
  return () => {
    const i = adapters.indexOf(adapter)
    if (i >= 0) adapters.splice(i, 1)
  }
}

/**
 * `instance` as it publishes: the snapshot of the adapter that describes it (see
 * {@link ModelAdapter.snapshot}), or the instance itself.
 */
export async function publishable(instance: object): Promise<object> {
  for (const adapter of adapters) {
    if (adapter.snapshot && adapter.describe(instance)) return adapter.snapshot(instance)
  }
  return instance
}

/** The adapter that can load `model`, if any. */
export function adapterFor(model: string): ModelAdapter | undefined {
  return adapters.find((a) => a.hasModel(model))
}

/** A reference to a row by model name and key, without loading it: `modelRef('User', 7)`. */
export class ModelRef {
  constructor(
    readonly model: string,
    readonly pk: string | number | bigint,
  ) {}
  /** `User:7`. Also what the engine reads from objects with a `ref()` method. */
  ref(): string {
    return `${this.model}:${String(this.pk)}`
  }
  toString(): string {
    return this.ref()
  }
  toJSON(): string {
    return this.ref()
  }
}

/** Shorthand for `new ModelRef(model, pk)`. */
export function modelRef(model: string, pk: string | number | bigint): ModelRef {
  return new ModelRef(model, pk)
}

/** Hooks the activity-model registry installs to describe tracked models first. */
let describeTracked: (value: object) => ModelInfo | undefined = () => undefined
/** @internal */
export function setTrackedDescriber(fn: (value: object) => ModelInfo | undefined): void {
  describeTracked = fn
}

/** Name and key of a model instance, or undefined when no integration recognises it. */
export function describeModel(value: unknown): ModelInfo | undefined {
  if (value === null || typeof value !== 'object') return undefined
  if (value instanceof ModelRef) return { model: value.model, pk: value.pk }
  const tracked = describeTracked(value)
  if (tracked) return tracked
  for (const adapter of adapters) {
    const info = adapter.describe(value)
    if (info) return info
  }
  return undefined
}

/** Formats a reference, failing clearly when the key is missing (an unsaved row). */
export function formatReference(info: ModelInfo): string {
  if (info.pk === undefined || info.pk === null || info.pk === '') {
    throw new Error(`${info.model} has no primary key value yet, so it cannot be referenced (save it first)`)
  }
  const pk = String(info.pk)
  if (pk.includes(':'))
    throw new Error(`${info.model} key ${JSON.stringify(pk)} contains ":", which references cannot carry`)
  return `${info.model}:${pk}`
}

/** `Tweet:42` for a model instance (or a {@link ModelRef}); throws for anything else. */
export function createModelReference(instance: object): string {
  const info = describeModel(instance)
  if (!info) throw new Error(`${show(instance)} is not a model instance any Eddy integration knows`)
  return formatReference(info)
}

/** A reference for model instances; anything else (a plain string, a number) is returned as is. */
export function createReference<T>(value: T): string | T {
  const info = describeModel(value)
  return info ? formatReference(info) : value
}

/**
 * Splits a reference into model and key when it is one: a string with exactly one colon whose
 * left side is a model some adapter can load. `user:42`, `SU:1` or URLs are not references.
 */
export function parseReference(
  value: unknown,
): { model: string; id: string; adapter: ModelAdapter } | undefined {
  if (typeof value !== 'string') return undefined
  const parts = value.split(':')
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined
  const adapter = adapterFor(parts[0])
  return adapter ? { model: parts[0], id: parts[1], adapter } : undefined
}

function show(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return value.constructor?.name ? `a ${value.constructor.name}` : 'an object'
  return JSON.stringify(value)
}
