/**
 * Enrichment for the `enrich/` read paths: top-level activity fields holding `SU:<user>`,
 * `SO:<collection>:<id>`, `SA:<activity id>` or `SR:<reaction id>` references are replaced by the
 * objects they name, or by Stream's `ReferenceNotFound` objects. An embedded activity gets the
 * read's reaction fields too, relative to the same reader, and its own references are resolved
 * except `SA:` ones (one level of embedding). What a response may produce is bounded by the read
 * budgets (`read-budget.ts`): past them, references stay the plain strings they were stored as.
 */
import type { Activity } from '../engine/activity.js'
import type { Links } from '../engine/links.js'
import type { ReactionFlags } from '../engine/reaction-read.js'
import {
  ByteBudget,
  CountBudget,
  ENRICH_BYTES_PER_ACTIVITY,
  ENRICH_BYTES_PER_EMBEDDED,
  ENRICH_BYTES_PER_RESPONSE,
  jsonBytes,
  REFERENCES_PER_ACTIVITY,
  REFERENCES_PER_RESPONSE,
} from '../engine/read-budget.js'
import type { Reader } from '../engine/read-policy.js'
import type { ServerContext } from './context.js'

/** Fields that are never references. */
const SKIP = new Set(['id', 'time', 'foreign_id', 'origin', 'to', 'verb'])
/**
 * How deep references are followed: a page's activities (1) and the activities they embed (2),
 * whose own `SA:` references stay plain, so no activity is embedded in an embedded one.
 */
const MAX_DEPTH = 2

type Row = Record<string, unknown>

interface Ref {
  holder: Row
  /** How many times the response carries `holder` (each copy costs). */
  times: number
  field: string
  ref: string
}

function notFound(ref: string, type: string, id: string, collection?: string): Row {
  return {
    ...(collection === undefined ? {} : { collection }),
    id,
    error: 'ReferenceNotFound',
    reference: ref,
    reference_type: type,
  }
}

/**
 * Puts `value` in the field. Field names are input (any stored key, `__proto__` included):
 * defining rather than assigning never runs a setter, so the name always stays a data field.
 */
function replace(holder: Row, field: string, value: unknown): void {
  Object.defineProperty(holder, field, { value, enumerable: true, writable: true, configurable: true })
}

/** The read's reaction flags, for embedded (`SA:`) activities. */
export interface EmbeddedReactions {
  flags: ReactionFlags
  links: Links
}

/** What one response may still resolve: distinct references, shared by every level. */
export interface EnrichBudget {
  references: CountBudget
  /** Distinct references already counted. */
  counted: Set<string>
}

/** A fresh budget for one response. */
export function enrichBudget(): EnrichBudget {
  return { references: new CountBudget(REFERENCES_PER_RESPONSE), counted: new Set() }
}

/**
 * Replaces references in `activities` in place (one store lookup per kind of reference), within
 * the read budgets: at most {@link REFERENCES_PER_ACTIVITY} references per activity and
 * {@link REFERENCES_PER_RESPONSE} distinct ones per response, and as many bytes as the budget
 * of the level allows, served in page order. Whatever is past a budget stays a plain string.
 */
export async function enrichActivities(
  ctx: ServerContext,
  /** Who reads: `SA:` references resolve only to activities it may read (engine/read-policy.ts). */
  reader: Reader | undefined,
  activities: Row[],
  depth = 1,
  reactions?: EmbeddedReactions,
  budget: EnrichBudget = enrichBudget(),
): Promise<void> {
  const refs: Ref[] = []
  // A response may carry one activity more than once (`activities/?ids=a,a`): each copy costs.
  const copies = new Map<Row, number>()
  for (const holder of activities) copies.set(holder, (copies.get(holder) ?? 0) + 1)
  for (const [holder, times] of copies) {
    let inHolder = 0
    for (const [field, value] of Object.entries(holder)) {
      if (SKIP.has(field) || typeof value !== 'string' || value.length < 4 || value[2] !== ':') continue
      const prefix = value.slice(0, 2)
      if (prefix !== 'SU' && prefix !== 'SO' && prefix !== 'SA' && prefix !== 'SR') continue
      if (prefix === 'SA' && depth >= MAX_DEPTH) continue
      if (++inHolder > REFERENCES_PER_ACTIVITY) break
      if (!budget.counted.has(value)) {
        if (!budget.references.take()) continue
        budget.counted.add(value)
      }
      refs.push({ holder, times, field, ref: value })
    }
  }
  if (refs.length === 0) return

  const users = new Set<string>()
  const collections = new Map<string, Set<string>>()
  const activityIds = new Set<string>()
  const reactionIds = new Set<string>()
  for (const { ref } of refs) {
    const rest = ref.slice(3)
    if (ref.startsWith('SU:')) users.add(rest)
    else if (ref.startsWith('SA:')) activityIds.add(rest)
    else if (ref.startsWith('SR:')) reactionIds.add(rest)
    else if (ref.startsWith('SO:')) {
      const colon = rest.indexOf(':')
      if (colon <= 0) continue
      const name = rest.slice(0, colon)
      const ids = collections.get(name) ?? new Set<string>()
      collections.set(name, ids)
      ids.add(rest.slice(colon + 1))
    }
  }

  const found = new Map<string, Row>()
  const lookups: Promise<void>[] = []
  if (users.size > 0) {
    lookups.push(
      ctx.engine.users.lookup([...users]).then((found_) => {
        for (const u of found_) found.set(`SU:${u.id}`, u as unknown as Row)
      }),
    )
  }
  for (const [name, ids] of collections) {
    lookups.push(
      ctx.engine.collections.lookup(name, [...ids]).then((entries) => {
        for (const e of entries) found.set(`SO:${name}:${e.id}`, e as unknown as Row)
      }),
    )
  }
  if (activityIds.size > 0) {
    lookups.push(
      ctx.engine.lookupActivities([...activityIds]).then(async (all) => {
        const shown = await ctx.engine.readable(reader, [...all.values()])
        const readable = new Set(shown)
        const embedded = shown as Row[]
        if (reactions)
          await ctx.engine.reactions.addFields(embedded as Activity[], reactions.flags, reactions.links)
        if (depth < MAX_DEPTH) await enrichActivities(ctx, reader, embedded, depth + 1, reactions, budget)
        for (const [id, activity] of all) if (readable.has(activity)) found.set(`SA:${id}`, activity as Row)
      }),
    )
  }
  if (reactionIds.size > 0) {
    lookups.push(
      ctx.engine.reactions.getMany([...reactionIds]).then((found_) => {
        for (const [id, reaction] of found_) found.set(`SR:${id}`, reaction as unknown as Row)
      }),
    )
  }
  await Promise.all(lookups)

  // Bytes are spent where they are produced: each copy of a shared object is serialised again.
  const bytes = new ByteBudget<Row>(ENRICH_BYTES_PER_RESPONSE)
  const perActivity = depth === 1 ? ENRICH_BYTES_PER_ACTIVITY : ENRICH_BYTES_PER_EMBEDDED
  const costs = new Map<string, number>()
  for (const { holder, times, field, ref } of refs) {
    const value = found.get(ref) ?? missing(ref)
    if (value === undefined) continue
    let cost = costs.get(ref)
    if (cost === undefined) {
      cost = jsonBytes(value) - jsonBytes(ref)
      costs.set(ref, cost)
    }
    if (bytes.spend(holder, cost * times, perActivity * times)) replace(holder, field, value)
  }
}

/** Stream's `ReferenceNotFound` object for a reference that names nothing stored. */
function missing(ref: string): Row | undefined {
  const rest = ref.slice(3)
  if (ref.startsWith('SU:')) return notFound(ref, 'user', rest)
  if (ref.startsWith('SA:')) return notFound(ref, 'activity', rest)
  if (ref.startsWith('SR:')) return notFound(ref, 'reaction', rest)
  const colon = rest.indexOf(':')
  return colon > 0 ? notFound(ref, 'object', rest.slice(colon + 1), rest.slice(0, colon)) : undefined
}
