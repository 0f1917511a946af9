/**
 * Enrichment: activities hold references (`Tweet:42`); `Enrich` swaps them for the rows, loading
 * each model once per page (one `IN` query per model), with related models preloaded.
 */
import { getActivityModel } from './activity-model.js'
import { adapterFor, describeModel, parseReference } from './references.js'

/**
 * An activity whose references were replaced by rows. Own enumerable properties are the
 * activity's fields (so templates and `JSON.stringify` see them); `enriched` and
 * `notEnrichedData` say what could not be loaded.
 */
export class EnrichedActivity {
  [field: string]: unknown
  declare readonly notEnrichedData: Record<string, string>

  constructor(data: Record<string, unknown> = {}) {
    Object.defineProperty(this, 'notEnrichedData', { value: {}, enumerable: false, writable: false })
    for (const [key, value] of Object.entries(data)) {
      Object.defineProperty(this, key, { value, enumerable: true, writable: true, configurable: true })
    }
  }

  /** True when every reference was found. */
  get enriched(): boolean {
    return Object.keys(this.notEnrichedData).length === 0
  }

  /** Records that `field` kept its reference `value` because the row was not found. */
  trackNotEnrichedField(field: string, value: string): void {
    this.notEnrichedData[field] = value
  }

  /** The fields plus `enriched`, and `not_enriched_data` when something is missing. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this }
    out.enriched = this.enriched
    if (!this.enriched) out.not_enriched_data = { ...this.notEnrichedData }
    return out
  }
}

/** Options of {@link Enrich}. */
export interface EnrichOptions {
  /** Activity fields holding references (default `['actor', 'object']`; add `target` etc.). */
  fields?: string[]
  /** Per-model loaders, same contract as a `fetch<Model>Instances` method. */
  fetchers?: Record<string, (ids: string[]) => Promise<FetchResult> | FetchResult>
}

/** What a loader may return: a Map or object keyed by primary key, or a list of rows. */
export type FetchResult = Map<string | number, unknown> | Record<string, unknown> | unknown[]

/** An aggregated group: any object with `activities`. */
export interface AggregatedLike {
  activities: readonly object[]
}

type Slot = { activity: EnrichedActivity; field: string; model: string; id: string; original: string }

/**
 * stream-django's `Enrich`. Subclass to customise: override `fetchModelInstances(model, ids)` for
 * all models, define `fetch<Model>Instances(ids)` (e.g. `fetchUserInstances`) for one, and
 * `enrichInstance(row, info)` to transform each row (e.g. to a DTO for an API).
 */
export class Enrich {
  readonly fields: string[]
  readonly #fetchers: EnrichOptions['fetchers']

  constructor(options: string[] | EnrichOptions = {}) {
    const opts = Array.isArray(options) ? { fields: options } : options
    this.fields = [...(opts.fields ?? ['actor', 'object'])]
    this.#fetchers = opts.fetchers
  }

  /** Enriches flat activities; returns new `EnrichedActivity` objects (inputs are not modified). */
  async enrichActivities(activities: readonly object[]): Promise<EnrichedActivity[]> {
    const wrapped = activities.map((a) =>
      a instanceof EnrichedActivity ? a : new EnrichedActivity(a as Record<string, unknown>),
    )
    await this.#inject(wrapped)
    return wrapped
  }

  /**
   * Enriches aggregated or notification groups: references across all groups are loaded
   * together; each group is copied with its `activities` enriched.
   */
  async enrichAggregatedActivities<G extends AggregatedLike>(
    groups: readonly G[],
  ): Promise<(Omit<G, 'activities'> & { activities: EnrichedActivity[] })[]> {
    const out = groups.map((g) => ({
      ...g,
      activities: (g.activities ?? []).map((a) =>
        a instanceof EnrichedActivity ? a : new EnrichedActivity(a as Record<string, unknown>),
      ),
    }))
    await this.#inject(out.flatMap((g) => g.activities))
    return out
  }

  /**
   * Loads the rows of one model by primary keys (strings, as in references). Default: the
   * `fetchers` option or a `fetch<Model>Instances` method, else one query through the ORM with
   * the model's related models.
   */
  async fetchModelInstances(model: string, ids: string[]): Promise<Map<string, unknown>> {
    // Model names come from stored references: only the caller's own fetchers, never Object's members.
    const fetchers = this.#fetchers
    const own = fetchers && Object.hasOwn(fetchers, model) ? fetchers[model] : undefined
    const hook = own ?? (this as any)[`fetch${model}Instances`]
    if (typeof hook === 'function') return toMap(await hook.call(this, ids))
    const adapter = adapterFor(model)
    if (!adapter) return new Map()
    const related = relatedModelsOf(model)
    return adapter.load(model, ids, { related })
  }

  /** Transforms each loaded row before it is put in the activity (default: the row itself). */
  enrichInstance(instance: unknown, _info: { model: string; field: string }): unknown {
    return instance
  }

  async #inject(activities: EnrichedActivity[]): Promise<void> {
    const slots: Slot[] = []
    const wanted = new Map<string, Set<string>>()
    for (const activity of activities) {
      for (const field of this.fields) {
        const value = activity[field]
        const ref = parseReference(value)
        if (!ref) continue
        slots.push({ activity, field, model: ref.model, id: ref.id, original: value as string })
        const ids = wanted.get(ref.model) ?? new Set<string>()
        wanted.set(ref.model, ids)
        ids.add(ref.id)
      }
    }
    if (slots.length === 0) return
    const loaded = new Map<string, Map<string, unknown>>()
    await Promise.all(
      [...wanted].map(async ([model, ids]) => {
        loaded.set(model, await this.fetchModelInstances(model, [...ids]))
      }),
    )
    for (const slot of slots) {
      const row = loaded.get(slot.model)?.get(slot.id)
      if (row === undefined || row === null) slot.activity.trackNotEnrichedField(slot.field, slot.original)
      else slot.activity[slot.field] = this.enrichInstance(row, { model: slot.model, field: slot.field })
    }
  }
}

/** Relations to preload for `model`: a static `activityRelatedModels`, else its options. */
export function relatedModelsOf(model: string): string[] | undefined {
  const registered = getActivityModel(model)
  const key = registered?.key as any
  const value = typeof key === 'function' ? key.activityRelatedModels : undefined
  const fromClass = (typeof value === 'function' ? value.call(key) : value) as string[] | undefined
  return fromClass ?? registered?.options.relatedModels
}

function toMap(result: FetchResult): Map<string, unknown> {
  const map = new Map<string, unknown>()
  if (result instanceof Map) {
    for (const [k, v] of result) map.set(String(k), v)
  } else if (Array.isArray(result)) {
    for (const row of result) {
      const info = describeModel(row)
      const pk = info ? info.pk : (row as { id?: unknown })?.id
      if (pk !== undefined) map.set(String(pk), row)
    }
  } else if (result && typeof result === 'object') {
    for (const [k, v] of Object.entries(result)) map.set(k, v)
  }
  return map
}
