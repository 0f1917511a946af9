/**
 * V3 polls on the engine's poll use cases (engine.v3Polls; the voting rules live there): create,
 * read, update (full and partial), delete, options, and votes on a poll attached to an activity,
 * with `feeds.poll.*` events to the watchers of the feeds holding it (poll-events.ts). A user
 * token creates polls as itself, changes only its own polls, and votes and removes votes only as
 * itself; a vote needs an activity the caller may read that carries the poll.
 */
import { inputError, notFound } from '../engine/errors.js'
import { namesVoters } from '../engine/v3-poll-access.js'
import type { ServerContext } from '../server/context.js'
import { loadActivity, requireReadable, writer } from './activities.js'
import type {
  PollOptionResponseData,
  PollResponseData,
  PollVoteResponseData,
  QueryPollsRequest,
  QueryPollVotesRequest,
} from './gen/spec.js'
import { actingUser, type Caller, type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'
import { announcePoll } from './poll-events.js'
import { queryPolls, queryPollVotes } from './poll-queries.js'
import { usersById } from './users.js'

type Poll = Awaited<ReturnType<ServerContext['engine']['v3Polls']['get']>>
type Vote = Poll['votes'][number]

/** Latest votes shown per option and latest answers shown. */
const LATEST = 10

/** A vote as V3's PollVoteResponseData (no voter on an anonymous poll). */
export function voteData(v: Vote, poll: Poll): PollVoteResponseData {
  const out: PollVoteResponseData = {
    id: v.id,
    poll_id: poll.id,
    option_id: v.option_id,
    created_at: v.created_at,
    updated_at: v.updated_at,
  }
  if (namesVoters(poll)) out.user_id = v.user_id
  if (v.is_answer) {
    out.is_answer = true
    out.answer_text = v.answer_text
  }
  return out
}

/** A poll as V3's PollResponseData, with `reader`'s own votes. */
export function pollResponse(poll: Poll, reader?: string): PollResponseData {
  const counts: Record<string, number> = {}
  const latest: Record<string, PollVoteResponseData[]> = {}
  for (const o of poll.options) counts[o.id] = 0
  const answers: PollVoteResponseData[] = []
  let votes = 0
  for (const v of [...poll.votes].reverse()) {
    if (v.is_answer) {
      if (answers.length < LATEST) answers.push(voteData(v, poll))
      continue
    }
    votes++
    counts[v.option_id] = (counts[v.option_id] ?? 0) + 1
    latest[v.option_id] ??= []
    const list = latest[v.option_id]
    if (list.length < LATEST) list.push(voteData(v, poll))
  }
  const out: PollResponseData = {
    id: poll.id,
    name: poll.name,
    description: poll.description,
    options: poll.options.map((o): PollOptionResponseData => ({ id: o.id, text: o.text, custom: o.custom })),
    enforce_unique_vote: poll.enforce_unique_vote,
    allow_answers: poll.allow_answers,
    allow_user_suggested_options: poll.allow_user_suggested_options,
    voting_visibility: poll.voting_visibility,
    is_closed: poll.is_closed,
    custom: poll.custom,
    created_by_id: poll.created_by_id,
    created_at: poll.created_at,
    updated_at: poll.updated_at,
    vote_count: votes,
    answers_count: poll.votes.length - votes,
    vote_counts_by_option: counts,
    latest_votes_by_option: namesVoters(poll) ? latest : {},
    latest_answers: answers,
    own_votes:
      reader === undefined
        ? []
        : poll.votes.filter((v) => v.user_id === reader).map((v) => voteData(v, poll)),
  }
  if (poll.max_votes_allowed !== undefined) out.max_votes_allowed = poll.max_votes_allowed
  return out
}

/** Sets `poll` on each response whose engine activity (same index) carries a `poll_id`. */
export async function addPolls(
  ctx: ServerContext,
  activities: Record<string, unknown>[],
  responses: { poll?: PollResponseData }[],
  reader?: string,
): Promise<void> {
  const ids = activities.map((a) => a.poll_id).filter((id): id is string => typeof id === 'string')
  if (ids.length === 0) return
  const polls = await ctx.engine.v3Polls.many(ids)
  activities.forEach((a, i) => {
    const poll = typeof a.poll_id === 'string' ? polls.get(a.poll_id) : undefined
    if (poll) responses[i].poll = pollResponse(poll, reader)
  })
}

async function withCreator(ctx: ServerContext, poll: PollResponseData): Promise<PollResponseData> {
  const users = await usersById(ctx, [poll.created_by_id])
  const user = users.get(poll.created_by_id)
  if (user) poll.created_by = user
  return poll
}

/** The poll user a token's caller may only change as (undefined: the app, anything). */
function owner(caller: Caller): string | undefined {
  if (caller.kind === 'anonymous')
    throw inputError('anonymous callers cannot change polls', undefined, 'token')
  return actingUser(caller)
}

const stringParam = (v: unknown, field: string): string => {
  if (typeof v !== 'string' || v === '' || v.length > 255)
    throw inputError(`${field} must be an id`, v, field)
  return v
}

/** Registers the V3 poll routes. */
export function pollRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const reader = (caller: Caller) => (caller.kind === 'user' ? caller.userId : undefined)
  const answer = async (caller: Caller, poll: Poll) => ({
    poll: await withCreator(ctx, pollResponse(poll, reader(caller))),
  })

  v3route(
    edge,
    'POST',
    '/polls',
    async ({ caller, body }) => {
      owner(caller)
      const poll = await ctx.engine.v3Polls.create(body, writer(caller, body))
      return answer(caller, poll)
    },
    201,
  )
  v3route(
    edge,
    'POST',
    '/polls/query',
    async ({ caller, body, query }) => queryPolls(ctx, caller, body as QueryPollsRequest, query.user_id),
    201,
  )
  v3route(
    edge,
    'POST',
    '/polls/:poll_id/votes',
    async ({ caller, params, body }) =>
      queryPollVotes(ctx, caller, stringParam(params.poll_id, 'poll_id'), body as QueryPollVotesRequest),
    201,
  )
  v3route(edge, 'GET', '/polls/:poll_id', async ({ caller, params }) =>
    answer(caller, await ctx.engine.v3Polls.get(stringParam(params.poll_id, 'poll_id'))),
  )
  // A change closing the poll is `feeds.poll.closed`; any other change `feeds.poll.updated`.
  const changed = async (caller: Caller, done: { poll: Poll; closed: boolean }) => {
    await announcePoll(ctx, hub, done.closed ? 'feeds.poll.closed' : 'feeds.poll.updated', done.poll)
    return answer(caller, done.poll)
  }
  v3route(edge, 'PUT', '/polls', async ({ caller, body }) => {
    const id = stringParam(body.id, 'id')
    const set = { ...body, description: body.description ?? '', custom: body.custom ?? {} }
    return changed(caller, await ctx.engine.v3Polls.update(id, set, [], owner(caller)))
  })
  v3route(edge, 'PATCH', '/polls/:poll_id', async ({ caller, params, body }) => {
    const set = (body.set ?? {}) as Record<string, unknown>
    if (set === null || typeof set !== 'object' || Array.isArray(set))
      throw inputError('set must be an object', set, 'set')
    const unset = body.unset ?? []
    if (!Array.isArray(unset)) throw inputError('unset must be a list of field names', unset, 'unset')
    const id = stringParam(params.poll_id, 'poll_id')
    return changed(caller, await ctx.engine.v3Polls.update(id, set, unset as string[], owner(caller)))
  })
  v3route(edge, 'DELETE', '/polls/:poll_id', async ({ caller, params }) => {
    const poll = await ctx.engine.v3Polls.delete(stringParam(params.poll_id, 'poll_id'), owner(caller))
    await announcePoll(ctx, hub, 'feeds.poll.deleted', poll)
    return {}
  })

  // An option's change changes the poll: its holders hear `feeds.poll.updated`.
  const optionChanged = async (done: { option: PollOptionResponseData; poll: Poll }) => {
    await announcePoll(ctx, hub, 'feeds.poll.updated', done.poll)
    return { poll_option: done.option }
  }
  v3route(
    edge,
    'POST',
    '/polls/:poll_id/options',
    async ({ caller, params, body }) => {
      const id = stringParam(params.poll_id, 'poll_id')
      return optionChanged(await ctx.engine.v3Polls.option(id, undefined, body, owner(caller)))
    },
    201,
  )
  v3route(edge, 'PUT', '/polls/:poll_id/options', async ({ caller, params, body }) => {
    const id = stringParam(params.poll_id, 'poll_id')
    const optionId = stringParam(body.id, 'id')
    return optionChanged(await ctx.engine.v3Polls.option(id, optionId, body, owner(caller)))
  })
  v3route(edge, 'DELETE', '/polls/:poll_id/options/:option_id', async ({ caller, params }) => {
    const id = stringParam(params.poll_id, 'poll_id')
    const optionId = stringParam(params.option_id, 'option_id')
    await optionChanged(await ctx.engine.v3Polls.option(id, optionId, undefined, owner(caller)))
    return {}
  })
  v3route(edge, 'GET', '/polls/:poll_id/options/:option_id', async ({ params }) => {
    const poll = await ctx.engine.v3Polls.get(stringParam(params.poll_id, 'poll_id'))
    const found = poll.options.find((o) => o.id === params.option_id)
    if (!found) throw notFound(`poll ${poll.id} has no option ${String(params.option_id)}`)
    return { poll_option: found }
  })

  // Votes go through an activity carrying the poll, which the voter must be able to read.
  const pollActivity = async (caller: Caller, activityId: unknown, pollId: unknown) => {
    const activity = await loadActivity(ctx, activityId, 'activity_id')
    await requireReadable(ctx, caller, activity)
    if (activity.poll_id !== stringParam(pollId, 'poll_id'))
      throw notFound(`activity ${String(activityId)} has no poll ${String(pollId)}`)
    return activity
  }
  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/polls/:poll_id/vote',
    async ({ caller, params, body }) => {
      const activity = await pollActivity(caller, params.activity_id, params.poll_id)
      if (caller.kind === 'anonymous') throw inputError('anonymous callers cannot vote', undefined, 'token')
      const user = writer(caller, body)
      const vote = (body.vote ?? {}) as { option_id?: unknown; answer_text?: unknown }
      if (vote === null || typeof vote !== 'object') throw inputError('vote must be an object', vote, 'vote')
      const done = await ctx.engine.v3Polls.vote(String(params.poll_id), user, vote)
      // A unique vote moving to another option is one `vote_changed` (the client's own reading
      // of it); a replaced answer is removed and the new one cast.
      const moved = done.poll.enforce_unique_vote && !done.vote.is_answer && done.replaced.length > 0
      if (!moved)
        for (const old of done.replaced)
          await announcePoll(ctx, hub, 'feeds.poll.vote_removed', done.poll, old, [activity])
      const type = moved ? 'feeds.poll.vote_changed' : 'feeds.poll.vote_casted'
      await announcePoll(ctx, hub, type, done.poll, done.vote, [activity])
      return { vote: voteData(done.vote, done.poll), poll: pollResponse(done.poll, user) }
    },
  )
  v3route(
    edge,
    'DELETE',
    '/feeds/activities/:activity_id/polls/:poll_id/vote/:vote_id',
    async ({ caller, params, query }) => {
      const activity = await pollActivity(caller, params.activity_id, params.poll_id)
      if (caller.kind === 'anonymous') throw inputError('anonymous callers cannot vote', undefined, 'token')
      // The app removes any vote (or only `user_id`'s when named); a user only its own.
      const named = query.user_id === undefined ? undefined : stringParam(query.user_id, 'user_id')
      const user = actingUser(caller) ?? named
      if (actingUser(caller) !== undefined && named !== undefined && named !== user)
        throw inputError("user_id must be the token's user", named, 'user_id')
      const done = await ctx.engine.v3Polls.unvote(
        String(params.poll_id),
        stringParam(params.vote_id, 'vote_id'),
        user,
      )
      await announcePoll(ctx, hub, 'feeds.poll.vote_removed', done.poll, done.vote, [activity])
      return { vote: voteData(done.vote, done.poll), poll: pollResponse(done.poll, user) }
    },
  )
}
