/**
 * The read budgets of reaction fields (see `read-budget.ts` and docs/server.md, "Read budgets"):
 * which kinds an activity shows, which of their reactions are loaded, and which fit in bytes.
 */
import type { Reaction } from './reaction-model.js'
import {
  ByteBudget,
  CountBudget,
  jsonBytes,
  REACTION_BYTES_PER_ACTIVITY,
  REACTION_BYTES_PER_RESPONSE,
  REACTION_KINDS_PER_ACTIVITY,
  REACTION_ROWS_PER_RESPONSE,
} from './read-budget.js'

/**
 * The kinds an activity shows: those of `counts` (within `filter` when given), the most reacted
 * first, ties in name order, at most {@link REACTION_KINDS_PER_ACTIVITY}.
 */
export function shownKinds(counts: Record<string, number>, filter?: string[]): string[] {
  const allowed = filter === undefined ? undefined : new Set(filter)
  return Object.entries(counts)
    .filter(([kind]) => allowed === undefined || allowed.has(kind))
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, REACTION_KINDS_PER_ACTIVITY)
    .map(([kind]) => kind)
}

/**
 * Of each activity's shown kinds, those whose reactions are loaded: in page order, kind by kind,
 * while {@link REACTION_ROWS_PER_RESPONSE} rows last (the counts say what each kind costs:
 * `lists` lists of at most `limit` each).
 */
export function loadedKinds(
  kinds: string[][],
  counts: Record<string, number>[],
  limit: number,
  lists: number,
): string[][] {
  const rows = new CountBudget(REACTION_ROWS_PER_RESPONSE)
  return kinds.map((shown, i) =>
    shown.filter((kind) => {
      const count = Object.hasOwn(counts[i], kind) ? counts[i][kind] : 0
      return count > 0 && rows.take(Math.min(limit, count) * lists)
    }),
  )
}

/**
 * Byte budget of the reactions in `own_reactions` and `latest_reactions`: each list keeps its
 * newest reactions while they fit in {@link REACTION_BYTES_PER_ACTIVITY} for the activity and
 * {@link REACTION_BYTES_PER_RESPONSE} for the response, served in page order.
 */
export class ReactionBytes {
  readonly #budget = new ByteBudget<string>(REACTION_BYTES_PER_RESPONSE)
  readonly #sizes = new Map<string, number>()

  /**
   * The newest reactions of `list` that fit for activity `activityId` (the rest are cut), which a
   * response carries `copies` times (`activities/?ids=` may name an activity more than once).
   */
  keep(activityId: string, list: Reaction[], copies = 1): Reaction[] {
    const kept: Reaction[] = []
    for (const reaction of list) {
      let size = this.#sizes.get(reaction.id)
      if (size === undefined) {
        size = jsonBytes(reaction)
        this.#sizes.set(reaction.id, size)
      }
      if (!this.#budget.spend(activityId, size * copies, REACTION_BYTES_PER_ACTIVITY * copies)) break
      kept.push(reaction)
    }
    return kept
  }
}

/**
 * Cuts the children under `reactions` (in place) to what fits in `bytes`: level by level (every
 * child before any grandchild), in order, each kind's list keeping its newest children that fit
 * (a cut child's own children go with it). The reactions themselves are kept whatever their
 * size; `children_counts` stay exact, and the rest is paged with `reactions.filter({ reaction_id })`.
 */
export function fitChildren(reactions: Reaction[], bytes: number): void {
  let left = bytes
  let level = reactions
  while (level.length > 0) {
    const next: Reaction[] = []
    for (const reaction of level) {
      for (const field of ['latest_children', 'own_children'] as const) {
        const lists = reaction[field]
        if (lists === undefined) continue
        for (const [kind, list] of Object.entries(lists)) {
          let kept = 0
          for (; kept < list.length; kept++) {
            // The child's own bytes; its children are measured on the next level.
            const size = jsonBytes({ ...list[kept], latest_children: {}, own_children: {} })
            if (size > left) break
            left -= size
            next.push(list[kept])
          }
          if (kept === 0) delete lists[kind]
          else list.length = kept
        }
      }
    }
    level = next
  }
}
