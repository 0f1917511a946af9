/**
 * Output budgets of reads: how much enrichment (`SU:`/`SO:`/`SA:`/`SR:` references) and reaction
 * fields (`own_reactions`, `latest_reactions`, `reaction_counts`) may add to one response. Stored
 * documents are small (10 KB each), but a read can repeat them: a 10 KB activity holds ~400
 * references, each resolving to a 10 KB object, and one activity embedded 200 times by another
 * is serialised 200 times. Without these bounds a 250 KB flood made one read produce 300 MB.
 * Past a budget, reads truncate by the documented rule (docs/server.md, "Read budgets"); they
 * never fail for it. The numbers live here so the server and the embedded client agree.
 */

/** References looked at in one activity's top-level fields; later ones stay plain strings. */
export const REFERENCES_PER_ACTIVITY = 100
/** Distinct references resolved per response, embedded activities included. */
export const REFERENCES_PER_RESPONSE = 2_000
/** Bytes of JSON that resolved references may add to one activity of a response. */
export const ENRICH_BYTES_PER_ACTIVITY = 512 * 1024
/**
 * Bytes of JSON that references may add to an embedded (`SA:`) activity, so that an embedded
 * activity with its reaction fields still fits in its holder's budget.
 */
export const ENRICH_BYTES_PER_EMBEDDED = 128 * 1024
/** Bytes of JSON that resolved references may add to a whole response. */
export const ENRICH_BYTES_PER_RESPONSE = 4 * 1024 * 1024

/** Reaction kinds shown per activity: the most reacted ones (ties: kind name order). */
export const REACTION_KINDS_PER_ACTIVITY = 25
/** Reactions (own and latest together) loaded per response, before their children. */
export const REACTION_ROWS_PER_RESPONSE = 2_000
/** Children and grandchildren loaded under the reactions of one response. */
export const CHILD_ROWS_PER_RESPONSE = 2_000
/** Bytes of JSON that reaction fields may add to one activity. */
export const REACTION_BYTES_PER_ACTIVITY = 128 * 1024
/** Bytes of JSON that reaction fields may add to a whole response (one page of activities). */
export const REACTION_BYTES_PER_RESPONSE = 4 * 1024 * 1024

/** Bytes of `value` as JSON (UTF-8), as the response will carry it. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value)
  return text === undefined ? 0 : Buffer.byteLength(text)
}

/**
 * A byte budget per response, with a smaller one per item (an activity): `spend` takes bytes
 * from both or from neither, so what fits is decided in the order items are served.
 */
export class ByteBudget<K = unknown> {
  #left: number
  readonly #spent = new Map<K, number>()

  constructor(perResponse: number) {
    this.#left = perResponse
  }

  /**
   * Takes `bytes` for `item` and returns true when the response has them left and the item stays
   * within `perItem`; else takes nothing.
   */
  spend(item: K, bytes: number, perItem: number): boolean {
    const spent = this.#spent.get(item) ?? 0
    if (bytes > this.#left || spent + bytes > perItem) return false
    this.#left -= bytes
    this.#spent.set(item, spent + bytes)
    return true
  }

  /** Bytes left for the whole response. */
  get left(): number {
    return this.#left
  }
}

/** A count budget per response (references, reaction rows): `take` succeeds while any is left. */
export class CountBudget {
  #left: number

  constructor(total: number) {
    this.#left = total
  }

  /** Takes `n` and returns true when that many are left; else takes nothing. */
  take(n = 1): boolean {
    if (n > this.#left) return false
    this.#left -= n
    return true
  }
}
