/**
 * V3's QueryPolls and QueryPollVotes: the spec's filter fields on V3's one filter evaluator
 * (query-filter.ts), its sort fields, `limit` (25, at most 100) and offset `next`/`prev` cursors
 * (query-page.ts). Who sees what is engine/v3-poll-access.ts's rule: a user lists only its own
 * polls, and on an anonymous poll matches votes by voter only for its own votes. The engine keeps
 * no poll index: QueryPolls reads at most {@link SCAN_LIMIT} polls, in id order.
 */
import { inputError } from '../engine/errors.js'
import { listsPoll, namesVoters, type PollReader, voterFor } from '../engine/v3-poll-access.js'
import type { ServerContext } from '../server/context.js'
import type {
  PollResponseData,
  PollVoteResponseData,
  PollVotesResponse,
  QueryPollsRequest,
  QueryPollsResponse,
  QueryPollVotesRequest,
} from './gen/spec.js'
import type { Caller } from './http.js'
import { pollResponse, voteData } from './polls.js'
import { compileFilter, DATE_FIELDS } from './query-filter.js'
import { pageOf, pageSize, parseSort, type SortKey, sortRows } from './query-page.js'
import { usersById } from './users.js'

type Poll = Awaited<ReturnType<ServerContext['engine']['v3Polls']['get']>>
type Vote = Poll['votes'][number]

/** Most polls one QueryPolls reads. */
export const SCAN_LIMIT = 5_000
/** Polls read per store call (a poll carries its votes: small pages keep a scan's memory low). */
const PAGE = 100
const DEFAULT_LIMIT = 25
const NEWEST_FIRST: SortKey[] = [{ field: 'created_at', direction: -1 }]

/** A poll as QueryPolls filters and sorts it (its votes left out: no filter reads them). */
type PollRow = Omit<Poll, 'votes'>

const POLL_FIELDS: Record<string, (p: PollRow) => unknown> = {
  id: (p) => p.id,
  name: (p) => p.name,
  is_closed: (p) => p.is_closed,
  voting_visibility: (p) => p.voting_visibility,
  max_votes_allowed: (p) => p.max_votes_allowed,
  allow_answers: (p) => p.allow_answers,
  allow_user_suggested_options: (p) => p.allow_user_suggested_options,
  created_by_id: (p) => p.created_by_id,
  created_at: (p) => p.created_at,
  updated_at: (p) => p.updated_at,
  custom: (p) => p.custom,
}
const POLL_SORTS = ['created_at', 'id', 'is_closed', 'name', 'updated_at']

/** The user whose own votes an answer shows: a user token's, or the app's `user_id` parameter. */
function ownVoter(caller: Caller, userId: unknown): string | undefined {
  if (userId !== undefined && (typeof userId !== 'string' || userId === '' || userId.length > 255))
    throw inputError('user_id must be a user id', userId, 'user_id')
  if (caller.kind === 'user') {
    if (userId !== undefined && userId !== caller.userId)
      throw inputError("user_id must be the token's user", userId, 'user_id')
    return caller.userId
  }
  return caller.kind === 'server' ? userId : undefined
}

/** Runs QueryPolls for `caller`: the page of polls it may list, and its cursors. */
export async function queryPolls(
  ctx: ServerContext,
  caller: Caller,
  input: QueryPollsRequest,
  userId: unknown,
): Promise<Omit<QueryPollsResponse, 'duration'>> {
  const reader = ownVoter(caller, userId)
  const limit = pageSize(input.limit, DEFAULT_LIMIT)
  const predicate = compileFilter(input.filter, POLL_FIELDS, DATE_FIELDS)
  const sort = parseSort(input.sort, POLL_SORTS, NEWEST_FIRST)
  const found: PollRow[] = []
  let after: string | undefined
  for (let read = 0; read < SCAN_LIMIT; ) {
    const polls = await ctx.engine.v3Polls.scan(after, Math.min(PAGE, SCAN_LIMIT - read))
    if (polls.length === 0) break
    read += polls.length
    after = polls[polls.length - 1].id
    for (const { votes: _, ...row } of polls)
      if (listsPoll(caller as PollReader, row) && predicate(row)) found.push(row)
  }
  sortRows(
    found,
    sort,
    (p, field) => POLL_FIELDS[field](p),
    (p) => p.id,
  )
  const { page, next, prev } = pageOf(found, input, limit)
  const polls = await ctx.engine.v3Polls.many(page.map((p) => p.id))
  const shown: PollResponseData[] = []
  for (const row of page) {
    const poll = polls.get(row.id)
    if (poll) shown.push(pollResponse(poll, reader))
  }
  const creators = await usersById(
    ctx,
    shown.map((p) => p.created_by_id),
  )
  for (const p of shown) {
    const user = creators.get(p.created_by_id)
    if (user) p.created_by = user
  }
  return { polls: shown, next, prev }
}

const VOTE_SORTS = ['created_at', 'id', 'updated_at']

/** Runs QueryPollVotes on poll `pollId` for `caller`: a page of its votes and the cursors. */
export async function queryPollVotes(
  ctx: ServerContext,
  caller: Caller,
  pollId: string,
  input: QueryPollVotesRequest,
): Promise<Omit<PollVotesResponse, 'duration'>> {
  const poll = await ctx.engine.v3Polls.get(pollId)
  // The voter as this caller may match it: on an anonymous poll, only its own votes name it.
  const fields: Record<string, (v: Vote) => unknown> = {
    id: (v) => v.id,
    poll_id: () => poll.id,
    option_id: (v) => (v.is_answer ? undefined : v.option_id),
    is_answer: (v) => v.is_answer === true,
    user_id: (v) => voterFor(caller as PollReader, poll, v.user_id),
    created_at: (v) => v.created_at,
    updated_at: (v) => v.updated_at,
  }
  const limit = pageSize(input.limit, DEFAULT_LIMIT)
  const predicate = compileFilter(input.filter, fields, DATE_FIELDS)
  const sort = parseSort(input.sort, VOTE_SORTS, NEWEST_FIRST)
  const found = sortRows(
    poll.votes.filter(predicate),
    sort,
    (v, field) => fields[field](v),
    (v) => v.id,
  )
  const { page, next, prev } = pageOf(found, input, limit)
  const votes: PollVoteResponseData[] = page.map((v) => voteData(v, poll))
  if (namesVoters(poll)) {
    const users = await usersById(
      ctx,
      page.map((v) => v.user_id),
    )
    votes.forEach((shown, i) => {
      const user = users.get(page[i].user_id)
      if (user) shown.user = user
    })
  }
  return { votes, next, prev }
}
