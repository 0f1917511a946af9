/**
 * Who may see which polls and voters, as one rule the poll reads and queries ask:
 *
 * - QueryPolls lists every poll to the app, and to a user only the polls it created: a listing
 *   would otherwise hand out the ids of polls on activities in feeds the user may not read (a
 *   poll names no feed). Others' polls are read through the activities carrying them, or GetPoll
 *   by an id one was given. Anonymous visitors own no polls, so they list none.
 * - A vote's voter is shown on a `public` poll. On an `anonymous` poll only the voter itself and
 *   the app may match votes by voter (QueryPollVotes' `user_id` filter), and answers never name
 *   voters there at all (the edge leaves `user_id` and `user` out).
 */

/** Who reads: the app, a user, or an anonymous visitor (the V3 edge's Caller fits this). */
export type PollReader = { kind: 'server' } | { kind: 'user'; userId: string } | { kind: 'anonymous' }

/** The poll fields these rules read. */
interface PollFacts {
  created_by_id: string
  voting_visibility: string
}

/** Whether `reader` may find `poll` by listing polls (QueryPolls). */
export function listsPoll(reader: PollReader, poll: PollFacts): boolean {
  if (reader.kind === 'server') return true
  return reader.kind === 'user' && poll.created_by_id === reader.userId
}

/** Whether answers name the voters of `poll` (its votes' `user_id` and `user`). */
export function namesVoters(poll: PollFacts): boolean {
  return poll.voting_visibility !== 'anonymous'
}

/** The voter of a vote as `reader` may match it: undefined when the poll hides it from them. */
export function voterFor(reader: PollReader, poll: PollFacts, voter: string): string | undefined {
  if (namesVoters(poll) || reader.kind === 'server') return voter
  return reader.kind === 'user' && reader.userId === voter ? voter : undefined
}
