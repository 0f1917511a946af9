/**
 * Feed tokens that Stream's server-side clients sign into request bodies: a follow's
 * `target_token` (stream-python, stream-php) and `to` targets written `"<slug>:<id> <token>"`
 * (stream-python, stream-php). Each is verified, then dropped before the engine sees the body.
 * They never grant anything: what a call may do comes from its own Authorization token alone
 * (scope checks and Stream's user policy), so a genuine target token cannot widen a user's rights,
 * and one that does not verify (a wrong secret, a forged or tampered token) is refused with a 401.
 */
import type { FeedRef } from '../engine/feed-groups.js'
import { type Authenticator, coversFeed } from './auth.js'
import type { ServerContext } from './context.js'
import { signatureError } from './errors.js'

/** Most `to` entries verified per activity; longer lists are left for the engine to refuse. */
const MAX_SIGNED_TARGETS = 100

function refused(field: string, feed: FeedRef, why: string) {
  return signatureError(
    `${field} for ${feed.id} is not a token of this app (${why}); send the feed id alone, or a token signed with the API secret`,
  )
}

/**
 * Verifies that `token` is one this app issued for `feed`: the legacy feed signature of
 * `<slug><userId>` (stream-php), or a JWT signed with the API secret that is a server token whose
 * `feed_id` is `*` or `<slug><userId>` (stream-python signs `{resource: feed, feed_id: *}`), or the
 * user token of the feed's own user. Anything else is a 401 naming `field`.
 */
export async function verifyFeedToken(
  auth: Authenticator,
  groups: ReadonlyMap<string, unknown>,
  feed: FeedRef,
  token: unknown,
  field: string,
): Promise<void> {
  if (typeof token !== 'string' || token === '') throw refused(field, feed, 'not a non-empty string')
  const together = feed.slug + feed.userId
  if (!token.includes('.')) {
    if (auth.isFeedSignature(together, token)) return
    throw refused(field, feed, 'the feed signature does not match')
  }
  let principal: Awaited<ReturnType<Authenticator['verify']>>
  try {
    principal = await auth.verify(token)
  } catch {
    throw refused(field, feed, 'the JWT does not verify with the API secret')
  }
  if (principal.kind === 'user') {
    if (principal.userId === feed.userId) return
    throw refused(field, feed, `a user token of ${principal.userId}`)
  }
  // Read as the scope check reads it: `<slug><userId>` names one feed, the longest slug's reading.
  if (coversFeed(principal.feedId, feed.id, groups)) return
  throw refused(field, feed, 'its feed_id claim names other feeds')
}

/**
 * A `to` list with each signed entry (`"<slug>:<id> <token>"`) verified and reduced to its feed id.
 * Other entries are returned as they are, for the engine's own checks (and its permission checks,
 * which the token never bypasses); a list longer than the engine allows is not verified at all.
 */
export async function unsignTargets(ctx: ServerContext, to: unknown): Promise<unknown> {
  if (!Array.isArray(to) || to.length > MAX_SIGNED_TARGETS) return to
  if (!to.some((t) => typeof t === 'string' && t.includes(' '))) return to
  const out: unknown[] = []
  for (const entry of to) {
    if (typeof entry !== 'string' || !entry.includes(' ')) {
      out.push(entry)
      continue
    }
    const space = entry.indexOf(' ')
    const feed = ctx.engine.parseFeed(entry.slice(0, space), 'to')
    await verifyFeedToken(ctx.auth, ctx.engine.groups, feed, entry.slice(space + 1), 'the token of to target')
    out.push(feed.id)
  }
  return out
}

/** An activity with its signed `to` targets verified and reduced to feed ids (see {@link unsignTargets}). */
export async function unsignActivity(ctx: ServerContext, activity: unknown): Promise<unknown> {
  if (activity === null || typeof activity !== 'object' || Array.isArray(activity)) return activity
  const to = (activity as Record<string, unknown>).to
  const unsigned = await unsignTargets(ctx, to)
  return unsigned === to ? activity : { ...activity, to: unsigned }
}
