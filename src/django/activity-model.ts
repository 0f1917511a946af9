/**
 * The analogue of stream-django's `Activity` mixin: how a model row becomes an activity. Every
 * override point can be given in the registration options or as a member of the model class
 * (a method or a getter), the member winning, as a Django subclass property would.
 */
import { checkBounds } from '../engine/bounds.js'
import { formatTime, parseTime } from '../engine/time.js'
import { describeModel, formatReference, type ModelInfo, setTrackedDescriber } from './references.js'
import { getSettings } from './settings.js'
import type { FeedLike } from './types.js'

/** A model class (any constructor). */
// biome-ignore lint/complexity/noBannedTypes: any class, including abstract ones and decorators' targets
export type ModelClass = Function

type Getter<T, R> = (instance: T) => R

/** The override points, all optional. */
export interface ActivityOptions<T = any> {
  /** The model name used in references and the default verb (default: the class name). */
  name?: string
  /** Primary key property (default: what the ORM says, else `id`). */
  primaryKey?: string
  /** Who acts: a property name or a function (default: `user`, then `actor`). */
  actorAttr?: string | Getter<T, unknown>
  /** What the activity is about (default: the row itself). */
  objectAttr?: string | Getter<T, unknown>
  /** The user id of the feed the activity is written to (default: the actor's primary key). */
  actorId?: Getter<T, string | number>
  /** The `actor` field (default: a reference to the actor, e.g. `User:7`). */
  actor?: Getter<T, string>
  /** The `verb` field (default: the model name in lower case). */
  verb?: string | Getter<T, string>
  /** The `object` field (default: a reference to the object, e.g. `Tweet:42`). */
  object?: Getter<T, string>
  /** The `foreign_id` field (default: the `object` reference, as in stream-django). */
  foreignId?: Getter<T, string>
  /** The `time` field: a property name or a function (default: `createdAt`; none → now). */
  time?: string | Getter<T, Date | string | number | null | undefined>
  /** More fields for the activity; Dates become UTC strings. */
  extraData?: Getter<T, Record<string, unknown> | null | undefined>
  /** Feeds (or `slug:id` strings) to notify; they become the activity's `to`. */
  notify?: Getter<T, Iterable<FeedLike | string> | null | undefined>
  /** Relations loaded with the row when activities referencing it are enriched. */
  relatedModels?: string[]
  /** Feed group the activity is written to (default: the `userFeed` setting). */
  authorFeed?: string | Getter<T, string | null | undefined>
  /** Publish only when this returns true (stream-django issue #86). Default: always. */
  when?: Getter<T, boolean>
}

/**
 * Members a model class may define instead of options (methods or getters), with the same
 * meaning: `get activityVerb() { return 'post' }`.
 */
export interface ActivityMembers {
  activityActorAttr?: unknown
  activityObjectAttr?: unknown
  activityActorId?: unknown
  activityActor?: unknown
  activityVerb?: unknown
  activityObject?: unknown
  activityForeignId?: unknown
  activityTime?: unknown
  extraActivityData?: unknown
  activityNotify?: unknown
  activityAuthorFeed?: unknown
  shouldPublishActivity?: unknown
}

/** A registered activity model. */
export interface ActivityModel {
  /** The class (TypeORM) or model name (Prisma) it was registered with. */
  readonly key: unknown
  readonly name: string
  readonly primaryKey: string
  readonly options: ActivityOptions
}

const byKey = new Map<unknown, ActivityModel>()
const byName = new Map<string, ActivityModel>()

/**
 * Marks a model as an activity model. `key` is the class, or the model name for ORMs whose rows
 * are plain objects (Prisma). Registering again replaces the options.
 */
export function registerActivityModel(key: unknown, options: ActivityOptions = {}): ActivityModel {
  const name = options.name ?? (typeof key === 'function' ? key.name : String(key))
  if (!name) throw new Error('an activity model needs a name')
  const model: ActivityModel = { key, name, primaryKey: options.primaryKey ?? 'id', options }
  byKey.set(key, model)
  byName.set(name, model)
  return model
}

/** Removes a registration. */
export function unregisterActivityModel(key: unknown): void {
  const model = byKey.get(key)
  if (!model) return
  byKey.delete(key)
  if (byName.get(model.name) === model) byName.delete(model.name)
}

/** The registration for a class, a model name, or an instance of a registered class. */
export function getActivityModel(keyOrInstance: unknown): ActivityModel | undefined {
  const direct = byKey.get(keyOrInstance)
  if (direct) return direct
  if (typeof keyOrInstance === 'string') return byName.get(keyOrInstance)
  if (keyOrInstance === null || typeof keyOrInstance !== 'object') return undefined
  let proto = Object.getPrototypeOf(keyOrInstance)
  while (proto && proto !== Object.prototype) {
    const found = byKey.get(proto.constructor)
    if (found) return found
    proto = Object.getPrototypeOf(proto)
  }
  return undefined
}

/** Every registered activity model. */
export function activityModels(): ActivityModel[] {
  return [...byKey.values()]
}

setTrackedDescriber((value) => {
  const model = getActivityModel(value)
  return model ? { model: model.name, pk: (value as Record<string, unknown>)[model.primaryKey] } : undefined
})

/** The model name of a class or registration key: `modelContentType(Tweet) === 'Tweet'`. */
export function modelContentType(key: unknown): string {
  const model = getActivityModel(key)
  if (model) return model.name
  if (typeof key === 'function' && key.name) return key.name
  throw new Error(`${String(key)} is not a registered activity model`)
}

/** stream-django's verb default: Django `slugify` of the class name (`BlogPost` → `blogpost`). */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[^ -~\s]/g, '')
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .replace(/[-\s]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
}

// The default verb of a model, per model name: slugify runs five regular expressions, and
// publishing on insert would otherwise pay for them on every row.
const verbs = new Map<string, string>()
function defaultVerb(name: string): string {
  let verb = verbs.get(name)
  if (verb === undefined) {
    verb = slugify(name)
    verbs.set(name, verb)
  }
  return verb
}

const pad = (value: Date | string | number): string => formatTime(parseTime(value))

/** Sets a field without running a setter: a row's JSON may hold a `__proto__` key, which stays data. */
function defineField(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Dates anywhere in `value` become naive-UTC strings, as stream-python serialises datetimes. */
export function serializeDates(value: unknown): unknown {
  if (value instanceof Date) return pad(value)
  if (Array.isArray(value)) return value.map(serializeDates)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) defineField(out, k, serializeDates(v))
    return out
  }
  return value
}

/** An activity as {@link activityOf} builds it (what `addActivity` receives). */
export interface ActivityPayload {
  actor: string
  verb: string
  object: string
  foreign_id: string
  time?: string
  to?: string[]
  [field: string]: unknown
}

const CORE = ['actor', 'verb', 'object', 'foreign_id', 'time'] as const

function feedId(feed: unknown): string {
  if (typeof feed === 'string') return feed
  if (feed && typeof feed === 'object') {
    const f = feed as { id?: unknown; slug?: unknown; userId?: unknown }
    if (typeof f.id === 'string') return f.id
    if (typeof f.slug === 'string' && f.userId !== undefined) return `${f.slug}:${String(f.userId)}`
  }
  throw new Error(`activity notify targets must be feeds or "slug:id" strings, got ${JSON.stringify(feed)}`)
}

/**
 * The activity view of one row: each override point resolved (member, then option, then default).
 * Values are computed on access, so a model overriding `actor` never needs an actor attribute.
 */
export class ActivityView<T extends object = any> {
  readonly model: ActivityModel

  constructor(
    readonly instance: T,
    model?: ActivityModel | string | ModelClass,
  ) {
    const found = model && typeof model === 'object' ? model : getActivityModel(model ?? instance)
    if (!found) {
      const what = (instance as object)?.constructor?.name ?? typeof instance
      throw new Error(`${what} is not an activity model: mark it with @Activity() or register it`)
    }
    this.model = found
  }

  /** A member of the instance (method or getter), if defined. */
  #member(name: keyof ActivityMembers): { value: unknown } | undefined {
    const inst = this.instance as Record<string, unknown>
    if (!(name in inst)) return undefined
    const value = inst[name]
    if (value === undefined) return undefined
    return { value: typeof value === 'function' ? (value as () => unknown).call(inst) : value }
  }

  #option<K extends keyof ActivityOptions>(name: K): { value: unknown } | undefined {
    const opt = this.model.options[name]
    if (opt === undefined) return undefined
    if (typeof opt === 'function') return { value: (opt as (i: T) => unknown)(this.instance) }
    if (typeof opt === 'string' && (name === 'actorAttr' || name === 'objectAttr' || name === 'time')) {
      return { value: (this.instance as Record<string, unknown>)[opt] }
    }
    return { value: opt }
  }

  #resolve(member: keyof ActivityMembers, option: keyof ActivityOptions): { value: unknown } | undefined {
    return this.#member(member) ?? this.#option(option)
  }

  /** The model name, e.g. `Tweet`. */
  get modelName(): string {
    return this.model.name
  }

  /** Reference to the row itself, e.g. `Tweet:42`. */
  get reference(): string {
    const pk = (this.instance as Record<string, unknown>)[this.model.primaryKey]
    return formatReference({ model: this.model.name, pk })
  }

  /** The actor object (default `user`, then `actor`). */
  get actorAttr(): unknown {
    const found = this.#resolve('activityActorAttr', 'actorAttr')
    if (found) return found.value
    const inst = this.instance as Record<string, unknown>
    if (inst.user !== undefined && inst.user !== null) return inst.user
    if (inst.actor !== undefined && inst.actor !== null) return inst.actor
    throw new Error(
      `${this.model.name} has no user or actor to publish as: add one, or give actorAttr / actorId / actor in its activity options`,
    )
  }

  /** The object (default: the row). */
  get objectAttr(): unknown {
    const found = this.#resolve('activityObjectAttr', 'objectAttr')
    return found ? found.value : this.instance
  }

  /** User id of the feed the activity goes to (default: the actor's primary key). */
  get actorId(): string {
    const found = this.#resolve('activityActorId', 'actorId')
    if (found) return String(found.value)
    const actor = this.actorAttr
    const info = describeModel(actor)
    if (info) return String(info.pk)
    if (typeof actor === 'string' || typeof actor === 'number' || typeof actor === 'bigint')
      return String(actor)
    if (actor && typeof actor === 'object' && 'id' in actor) return String((actor as { id: unknown }).id)
    throw new Error(`${this.model.name}: cannot tell the actor's id; give actorId in its activity options`)
  }

  get actor(): string {
    const found = this.#resolve('activityActor', 'actor')
    if (found) return found.value as string
    return refOf(this.actorAttr, this.model, this.instance)
  }

  get verb(): string {
    const found = this.#resolve('activityVerb', 'verb')
    return found ? String(found.value) : defaultVerb(this.model.name)
  }

  get object(): string {
    const found = this.#resolve('activityObject', 'object')
    if (found) return found.value as string
    return refOf(this.objectAttr, this.model, this.instance)
  }

  get foreignId(): string {
    return this.#foreignId(undefined)
  }

  /** The foreign id; `object`, when already computed, is the default (so it is not built twice). */
  #foreignId(object: string | undefined): string {
    const found = this.#resolve('activityForeignId', 'foreignId')
    return found ? String(found.value) : (object ?? this.object)
  }

  /** The time as a naive-UTC string, or undefined (the feed then uses "now"). */
  get time(): string | undefined {
    const found = this.#resolve('activityTime', 'time')
    const value = found ? found.value : (this.instance as Record<string, unknown>).createdAt
    if (value === undefined || value === null) return undefined
    if (value instanceof Date || typeof value === 'number') return pad(value)
    return String(value)
  }

  get extraData(): Record<string, unknown> {
    const found = this.#resolve('extraActivityData', 'extraData')
    const value = found?.value
    if (value === undefined || value === null) return {}
    if (typeof value !== 'object' || Array.isArray(value))
      throw new Error(`${this.model.name}: extra activity data must be an object`)
    return value as Record<string, unknown>
  }

  /** Feed ids to notify (the activity's `to`). */
  get notify(): string[] {
    const found = this.#resolve('activityNotify', 'notify')
    const value = found?.value
    if (value === undefined || value === null) return []
    return [...(value as Iterable<unknown>)].map(feedId)
  }

  /** Feed group the activity is written to. */
  get authorFeed(): string {
    const found = this.#resolve('activityAuthorFeed', 'authorFeed')
    const value = found?.value
    return value === undefined || value === null ? getSettings().userFeed : String(value)
  }

  /** False when the model's `when` condition rejects this row. */
  get shouldPublish(): boolean {
    const found = this.#resolve('shouldPublishActivity', 'when')
    return found ? Boolean(found.value) : true
  }

  /** Relations to preload at enrichment. */
  get relatedModels(): string[] | undefined {
    const key = this.model.key as any
    const fromClass = typeof key === 'function' ? key.activityRelatedModels : undefined
    const value = typeof fromClass === 'function' ? fromClass.call(key) : fromClass
    return (value as string[] | undefined) ?? this.model.options.relatedModels
  }

  /** The activity: actor, verb, object, foreign_id, time, the extra data, and `to`. */
  createActivity(): ActivityPayload {
    const data = this.extraData
    // Rows may carry user-written JSON: bounded before serializeDates recurses through it.
    checkBounds(data, 'extra_data', `${this.model.name} extra activity data`)
    const extra = serializeDates({ ...data }) as Record<string, unknown>
    for (const key of CORE) {
      if (Object.hasOwn(extra, key))
        throw new Error(`${this.model.name}: extra activity data cannot set the core field ${key}`)
    }
    const object = this.object
    const activity: ActivityPayload = {
      actor: this.actor,
      verb: this.verb,
      object,
      foreign_id: this.#foreignId(object),
    }
    const time = this.time
    if (time !== undefined) activity.time = time
    for (const [key, value] of Object.entries(extra)) defineField(activity, key, value)
    const to = this.notify
    if (to.length > 0) activity.to = to
    return activity
  }
}

function refOf(value: unknown, model: ActivityModel, instance: object): string {
  if (value === instance) {
    return formatReference({ model: model.name, pk: (instance as Record<string, unknown>)[model.primaryKey] })
  }
  const info: ModelInfo | undefined = describeModel(value)
  if (info) return formatReference(info)
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  throw new Error(`${model.name}: cannot make a reference to ${JSON.stringify(value)}; override actor/object`)
}

/** The activity view of a row: `activityOf(tweet).verb`. `model` is needed for plain rows (Prisma). */
export function activityOf<T extends object>(
  instance: T,
  model?: ActivityModel | string | ModelClass,
): ActivityView<T> {
  return new ActivityView(instance, model)
}

/** The activity a row publishes (stream-django's `create_activity()`). */
export function createActivity(
  instance: object,
  model?: ActivityModel | string | ModelClass,
): ActivityPayload {
  return activityOf(instance, model).createActivity()
}
