/**
 * Reactions as Stream shows them, built from stored rows: the public fields, the reacting user,
 * the newest children (to any depth, level by level, a few store calls per level whatever the
 * number of reactions), children counts and, when asked, the reader's own children.
 */
import type { DocumentStore, ReactionStore, StoredReaction } from '../store/store.js'
import { USER_KIND, userObject } from './documents.js'
import { fitChildren } from './reaction-budget.js'
import { CHILD_ROWS_PER_RESPONSE, CountBudget, REACTION_BYTES_PER_RESPONSE } from './read-budget.js'

/** A reaction as stored (the JSON text of `StoredReaction.body`). */
export interface ReactionRecord {
  id: string
  kind: string
  activity_id: string
  user_id: string
  data: Record<string, unknown>
  /** '' for a reaction to the activity itself. */
  parent: string
  /** ISO times with microseconds and a `Z`, as Stream writes reaction times. */
  created_at: string
  updated_at: string
  target_feeds: string[]
  target_feeds_extra_data?: Record<string, unknown>
  /** When it was soft-deleted (absent while live; a restore removes it). */
  deleted_at?: string
}

/** A reaction as Eddy returns it: Stream's keys; `target_feeds` only when non-empty. */
export interface Reaction {
  id: string
  kind: string
  activity_id: string
  user_id: string
  /** The user object, or Stream's `ReferenceNotFound` object for an unknown user. */
  user: Record<string, unknown>
  data: Record<string, unknown>
  created_at: string
  updated_at: string
  parent: string
  latest_children: Record<string, Reaction[]>
  children_counts: Record<string, number>
  own_children?: Record<string, Reaction[]>
  target_feeds?: string[]
  target_feeds_extra_data?: Record<string, unknown>
  /** Only on `get` of a soft-deleted reaction: when it was deleted (as Stream shows it). */
  deleted_at?: string
}

/** Deepest reaction nesting: a reaction (1), its child (2), a grandchild (3); Stream's limit. */
export const MAX_REACTION_DEPTH = 3
/** Newest children shown under a reaction, across kinds (Stream's `reactions.get`). */
export const LATEST_CHILDREN = 10
/** The reader's own children shown per kind (`withOwnChildren`). */
export const OWN_CHILDREN = 5

/** Parses a stored reaction's body. */
export function recordOf(row: StoredReaction): ReactionRecord {
  return JSON.parse(row.body) as ReactionRecord
}

/** Groups reactions by kind, keeping their order. */
export function byKind(reactions: Reaction[]): Record<string, Reaction[]> {
  // A Map, then fromEntries: assigning out[kind] would make a kind named __proto__ the prototype.
  const kinds = new Map<string, Reaction[]>()
  for (const r of reactions) {
    const list = kinds.get(r.kind)
    if (list) list.push(r)
    else kinds.set(r.kind, [r])
  }
  return Object.fromEntries(kinds)
}

/** Who the reactions' children are shown for, and how. */
export interface ShowOptions {
  /** The reader, whose own children `withOwnChildren` shows. */
  ownUser?: string
  /** Show `own_children` (5 per kind of the reader's). */
  ownChildren?: boolean
  /** Keep `target_feeds_extra_data` (the add and update responses do). */
  extraData?: boolean
}

/** Builds Stream-shaped reactions from stored rows. */
export class ReactionShaper {
  readonly #store: ReactionStore
  readonly #documents: DocumentStore

  constructor(store: ReactionStore, documents: DocumentStore) {
    this.#store = store
    this.#documents = documents
  }

  /** The rows as reactions with users, counts and children, in the rows' order. */
  async show(rows: StoredReaction[], options: ShowOptions = {}): Promise<Reaction[]> {
    const levels: StoredReaction[][] = [rows]
    const childrenOf = new Map<string, { latest: StoredReaction[]; own: StoredReaction[] }>()
    const counts = new Map<string, Record<string, number>>()
    const own = options.ownChildren && options.ownUser !== undefined ? options.ownUser : undefined
    // Level by level: one count call, then one or two list calls for the reactions with children,
    // as many as CHILD_ROWS_PER_RESPONSE allows (the counts say what each costs); the others
    // still show their children_counts.
    const rowsLeft = new CountBudget(CHILD_ROWS_PER_RESPONSE)
    for (let depth = 0; depth < MAX_REACTION_DEPTH; depth++) {
      const level = [...new Map(levels[depth].map((r) => [r.id, r])).values()].filter(
        (r) => !childrenOf.has(r.id),
      )
      if (level.length === 0) break
      const found = await this.#store.countReactions(
        level.map((r) => ({ activityId: r.activityId, parent: r.id })),
      )
      const parents = level.flatMap((r, i) => {
        counts.set(r.id, found[i])
        childrenOf.set(r.id, { latest: [], own: [] })
        const perKind = Object.values(found[i])
        const total = perKind.reduce((a, b) => a + b, 0)
        const cost =
          Math.min(LATEST_CHILDREN, total) +
          (own === undefined ? 0 : perKind.reduce((a, n) => a + Math.min(OWN_CHILDREN, n), 0))
        return total > 0 && rowsLeft.take(cost) ? [r] : []
      })
      if (parents.length === 0) break
      const nodes = parents.map((r) => ({ activityId: r.activityId, parent: r.id }))
      const [latest, mine] = await Promise.all([
        this.#store.listReactions(nodes.map((n) => ({ ...n, limit: LATEST_CHILDREN }))),
        own === undefined
          ? Promise.resolve(nodes.map(() => []))
          : this.#store.listReactions(
              nodes.map((n) => ({ ...n, userId: own, perKind: true, limit: OWN_CHILDREN })),
            ),
      ])
      parents.forEach((r, i) => {
        childrenOf.set(r.id, { latest: latest[i], own: mine[i] })
      })
      levels.push([...latest.flat(), ...mine.flat()])
    }
    const users = await this.#users(levels.flat().map((r) => r.userId))
    const build = (row: StoredReaction): Reaction => {
      const record = recordOf(row)
      const children = childrenOf.get(row.id) ?? { latest: [], own: [] }
      const out: Reaction = {
        id: record.id,
        kind: record.kind,
        activity_id: record.activity_id,
        user_id: record.user_id,
        user: users.get(record.user_id) ?? missingUser(record.user_id),
        data: record.data,
        created_at: record.created_at,
        updated_at: record.updated_at,
        parent: record.parent,
        latest_children: byKind(children.latest.map(build)),
        children_counts: counts.get(row.id) ?? {},
      }
      if (own !== undefined) out.own_children = byKind(children.own.map(build))
      if (record.target_feeds.length > 0) out.target_feeds = record.target_feeds
      if (options.extraData && record.target_feeds_extra_data !== undefined)
        out.target_feeds_extra_data = record.target_feeds_extra_data
      return out
    }
    const shown = rows.map(build)
    // Children are the expansion a few rows can multiply: their bytes have a budget per call.
    fitChildren(shown, REACTION_BYTES_PER_RESPONSE)
    return shown
  }

  /** User objects by id, from the documents the users API writes. */
  async #users(ids: string[]): Promise<Map<string, Record<string, unknown>>> {
    const unique = [...new Set(ids)]
    if (unique.length === 0) return new Map()
    const docs = await this.#documents.getDocs(USER_KIND, unique)
    return new Map(docs.map((d) => [d.id, { ...userObject(d) }]))
  }
}

/** Stream's object for a user that does not exist (as `SU:` enrichment shows it). */
export function missingUser(id: string): Record<string, unknown> {
  return { error: 'ReferenceNotFound', reference: `SU:${id}`, reference_type: 'user', id }
}
