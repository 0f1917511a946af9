/**
 * Enrichment for the `enrich/` read paths: top-level activity fields holding `SU:<user>`,
 * `SO:<collection>:<id>`, `SA:<activity id>` or `SR:<reaction id>` references are replaced by the
 * objects they name, or by Stream's `ReferenceNotFound` objects. An embedded activity gets the
 * read's reaction fields too, relative to the same reader.
 */
import type { Activity } from '../engine/activity.js'
import { idToSk } from '../engine/ids.js'
import type { LinkBase, ReactionFlags } from '../engine/reaction-read.js'
import { type Reader, readableActivities } from '../engine/read-policy.js'
import type { ServerContext } from './context.js'
import { collectionKind, entryObject, USER_KIND, userObject } from './docs.js'

/** Fields that are never references. */
const SKIP = new Set(['id', 'time', 'foreign_id', 'origin', 'to', 'verb'])
/** How deep `SA:` references are followed (an embedded activity's own references are enriched once). */
const MAX_DEPTH = 2

type Row = Record<string, unknown>

interface Ref {
  holder: Row
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
  base: LinkBase
}

/** Replaces references in `activities` in place (one store lookup per kind of reference). */
export async function enrichActivities(
  ctx: ServerContext,
  /** Who reads: `SA:` references resolve only to activities it may read (engine/read-policy.ts). */
  reader: Reader | undefined,
  activities: Row[],
  depth = 1,
  reactions?: EmbeddedReactions,
): Promise<void> {
  const refs: Ref[] = []
  for (const holder of activities) {
    for (const [field, value] of Object.entries(holder)) {
      if (SKIP.has(field) || typeof value !== 'string' || value.length < 4 || value[2] !== ':') continue
      const prefix = value.slice(0, 2)
      if (prefix === 'SU' || prefix === 'SO' || prefix === 'SA' || prefix === 'SR')
        refs.push({ holder, field, ref: value })
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
      if (!collections.has(name)) collections.set(name, new Set())
      collections.get(name)!.add(rest.slice(colon + 1))
    }
  }

  const found = new Map<string, Row>()
  const store = ctx.engine.documents
  const lookups: Promise<void>[] = []
  if (users.size > 0) {
    lookups.push(
      store.getDocs(USER_KIND, [...users]).then((docs) => {
        for (const d of docs) found.set(`SU:${d.id}`, userObject(d) as unknown as Row)
      }),
    )
  }
  for (const [name, ids] of collections) {
    lookups.push(
      store.getDocs(collectionKind(name), [...ids]).then((docs) => {
        for (const d of docs) found.set(`SO:${name}:${d.id}`, entryObject(name, d) as unknown as Row)
      }),
    )
  }
  if (activityIds.size > 0) {
    const bySk = new Map<string, string>()
    for (const id of activityIds) {
      const sk = idToSk(id)
      if (sk) bySk.set(sk, id)
    }
    lookups.push(
      ctx.engine.loadActivities([...bySk.keys()]).then(async (all) => {
        const shown = await readableActivities(ctx.engine, reader, [...all.values()])
        const loaded = new Map(shown.map((a) => [idToSk(a.id) as string, a]))
        const embedded = shown as Row[]
        if (reactions)
          await ctx.engine.reactions.addFields(embedded as Activity[], reactions.flags, reactions.base)
        if (depth < MAX_DEPTH) await enrichActivities(ctx, reader, embedded, depth + 1, reactions)
        for (const [sk, activity] of loaded) found.set(`SA:${bySk.get(sk)}`, activity as Row)
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

  for (const { holder, field, ref } of refs) {
    const value = found.get(ref)
    if (value !== undefined) {
      replace(holder, field, value)
      continue
    }
    const rest = ref.slice(3)
    if (ref.startsWith('SU:')) replace(holder, field, notFound(ref, 'user', rest))
    else if (ref.startsWith('SA:')) replace(holder, field, notFound(ref, 'activity', rest))
    else if (ref.startsWith('SR:')) replace(holder, field, notFound(ref, 'reaction', rest))
    else {
      const colon = rest.indexOf(':')
      if (colon > 0)
        replace(holder, field, notFound(ref, 'object', rest.slice(colon + 1), rest.slice(0, colon)))
    }
  }
}
