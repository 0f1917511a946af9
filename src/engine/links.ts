/**
 * How the engine says "there is more of this" inside what it returns, without building a URL:
 * a page ends with a {@link NextPage} cursor, and the `next` strings nested in reaction fields
 * come from a {@link Links} port the caller passes in. The Stream v1 wire (src/wire/links.ts)
 * formats both as Stream's REST URLs; another API formats them its own way.
 */

/** Where the next page starts: the last item's id, the direction, and the page size. */
export interface NextPage {
  /** `id_lt` for newest-first pages, `id_gt` for oldest-first ones. */
  cursor: 'id_lt' | 'id_gt'
  id: string
  limit: number
}

/** The next page of a reaction filter, with the options the page was read with. */
export interface ReactionFilterNext extends NextPage {
  lookup: 'activity_id' | 'user_id' | 'reaction_id'
  value: string
  kind?: string
  /** `with_own_children` was set, for `childrenUser` (when named). */
  ownChildren: boolean
  childrenUser?: string
  filterUser?: string
}

/** The `next` strings the engine nests in what it returns (see the module comment). */
export interface Links {
  /** The next reactions of one kind of an activity (`latest_reactions_extra`). */
  activityReactions(activityId: string, kind: string, next: NextPage): string
  /** The next page of a reaction filter (`reactions.filter`'s `next`). */
  reactionFilter(next: ReactionFilterNext): string
}

/** Links for callers that follow none (every nested `next` is empty). */
export const NO_LINKS: Links = { activityReactions: () => '', reactionFilter: () => '' }
