/**
 * The `feeds.poll.*` events: sent to the watchers of every feed holding an activity that carries
 * the poll (the latest activities the poll remembers, engine/v3-polls.ts `attach`, plus the one a
 * vote went through), each event once per feed with that feed's `fid`. The poll in an event is
 * the one every watcher may see: no reader's own votes, and on anonymous polls no voter.
 */
import type { Activity } from '../engine/activity.js'
import type { ServerContext } from '../server/context.js'
import { feedsOf } from './activities.js'
import type { PollVoteResponseData } from './gen/spec.js'
import { type Hub, v3Event } from './hub.js'
import { pollResponse, voteData } from './polls.js'

type Poll = Awaited<ReturnType<ServerContext['engine']['v3Polls']['get']>>
type Vote = Poll['votes'][number]

/** The feeds of the activities carrying `poll`, and of `also`, each once. */
export async function pollFeeds(ctx: ServerContext, poll: Poll, also: Activity[] = []): Promise<string[]> {
  const ids = poll.activity_ids ?? []
  const carriers = ids.length > 0 ? [...(await ctx.engine.lookupActivities(ids)).values()] : []
  const fids = new Set<string>()
  for (const activity of [...carriers, ...also]) for (const fid of feedsOf(activity)) fids.add(fid)
  return [...fids]
}

/** Publishes event `type` about `poll` (and `vote`) to the feeds holding it. */
export async function announcePoll(
  ctx: ServerContext,
  hub: Hub,
  type: string,
  poll: Poll,
  vote?: Vote,
  also: Activity[] = [],
): Promise<void> {
  const shown = pollResponse(poll)
  const fields: { poll: typeof shown; poll_vote?: PollVoteResponseData } = { poll: shown }
  if (vote) fields.poll_vote = voteData(vote, poll)
  for (const fid of await pollFeeds(ctx, poll, also)) hub.publish(fid, [v3Event(type, { fid, ...fields })])
}
