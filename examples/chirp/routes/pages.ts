/**
 * The pages that show feeds. Form posts that fail re-render the page they came from (`back`) with
 * the message and the status code, so nothing changes and the draft is kept.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type ChirpContext, UserError } from '../context.js'
import type { User } from '../entities.js'
import { type FeedKind, followCounts, isCursor, likedChirps, readFeed } from '../feeds.js'
import { safeBack } from '../session.js'
import { render } from '../views.js'

export interface Extra {
  error?: string
  draft?: string
  status?: number
}

function cursor(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined
  if (!isCursor(value)) throw new UserError(400, 'That page link is not valid; start again from the newest.')
  return value
}

/** The signed-in user of a page only signed-in users reach (its route ran requireMe first). */
function signedIn(request: FastifyRequest): User {
  if (!request.me)
    throw new Error(`${request.url} is for signed-in users: its route must call requireMe first`)
  return request.me
}

/** Users `me` does not follow yet, for the sidebar. */
async function suggestions(ctx: ChirpContext, me: User): Promise<User[]> {
  return ctx.users
    .createQueryBuilder('u')
    .where('u.id != :me', { me: me.id })
    .andWhere('u.id NOT IN (SELECT f.followedId FROM follows f WHERE f.followerId = :me)', { me: me.id })
    .orderBy('u.createdAt', 'ASC')
    .limit(4)
    .getMany()
}

export async function showHome(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  query: Record<string, unknown>,
  extra: Extra = {},
) {
  const me = signedIn(request)
  const aggregated = query.view === 'aggregated'
  const kind: FeedKind = aggregated ? 'timeline_aggregated' : 'timeline'
  const page = await readFeed(ctx, kind, me.id, me.id, { before: cursor(query.before) })
  return render(
    ctx,
    request,
    reply,
    'home',
    {
      title: 'Home',
      nav: 'home',
      view: aggregated ? 'aggregated' : 'latest',
      page,
      liked: page.liked,
      paged: Boolean(query.before),
      counts: await followCounts(ctx, me.id),
      suggestions: await suggestions(ctx, me),
      ...extra,
    },
    extra.status,
  )
}

export async function showChirp(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  id: unknown,
  extra: Extra = {},
) {
  const n = Number(id)
  const chirp = Number.isSafeInteger(n)
    ? await ctx.chirps.findOne({
        where: { id: n },
        relations: { user: true, replyTo: { user: true }, rechirpOf: true },
      })
    : null
  if (!chirp)
    return render(
      ctx,
      request,
      reply,
      'missing',
      { title: 'Not found', message: 'That chirp does not exist.' },
      404,
    )
  if (chirp.rechirpOf) return reply.redirect(`/chirps/${chirp.rechirpOf.id}`, 303)
  const replies = await ctx.chirps.find({
    where: { replyToId: chirp.id },
    relations: { user: true },
    order: { createdAt: 'ASC' },
  })
  const liked = await likedChirps(
    ctx,
    signedIn(request).id,
    [chirp, chirp.replyTo, ...replies].map((c) => ({ object: c })),
  )
  return render(
    ctx,
    request,
    reply,
    'chirp',
    { title: `${chirp.user.name}: “${chirp.text.slice(0, 40)}”`, chirp, replies, liked, ...extra },
    extra.status,
  )
}

export async function showProfile(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  username: string,
  query: Record<string, unknown>,
  extra: Extra = {},
) {
  const me = signedIn(request)
  const user = await ctx.users.findOneBy({ username: username.toLowerCase() })
  if (!user) {
    return render(
      ctx,
      request,
      reply,
      'missing',
      { title: 'Not found', message: `There is no user named @${username}.` },
      404,
    )
  }
  const [page, counts, following, followsYou] = await Promise.all([
    readFeed(ctx, 'user', user.id, me.id, { before: cursor(query.before) }),
    followCounts(ctx, user.id),
    ctx.follows.existsBy({ followerId: me.id, followedId: user.id }),
    ctx.follows.existsBy({ followerId: user.id, followedId: me.id }),
  ])
  return render(
    ctx,
    request,
    reply,
    'profile',
    {
      title: `${user.name} (@${user.username})`,
      nav: user.id === me.id ? 'profile' : '',
      user,
      page,
      liked: page.liked,
      paged: Boolean(query.before),
      counts,
      following,
      followsYou,
      ...extra,
    },
    extra.status,
  )
}

export async function showNotifications(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  query: Record<string, unknown>,
  extra: Extra = {},
) {
  const me = signedIn(request)
  // Opening the page marks every group seen; the groups still show what was new.
  const page = await readFeed(ctx, 'notification', me.id, me.id, {
    before: cursor(query.before),
    markSeen: true,
  })
  return render(
    ctx,
    request,
    reply,
    'notifications',
    {
      title: 'Notifications',
      nav: 'notifications',
      page,
      liked: page.liked,
      paged: Boolean(query.before),
      ...extra,
    },
    extra.status,
  )
}

/**
 * Shows a {@link UserError} on the page the form came from (the `back` field); rethrows others.
 */
export async function fail(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  extra: Extra = {},
) {
  if (!(error instanceof UserError)) throw error
  const body = (request.body ?? {}) as Record<string, unknown>
  const back = new URL(safeBack(body.back), 'http://chirp.local')
  const query = Object.fromEntries(back.searchParams)
  const info = { ...extra, error: error.message, status: error.status }
  const chirp = back.pathname.match(/^\/chirps\/(\d+)$/)
  const profile = back.pathname.match(/^\/u\/(\w+)$/)
  try {
    if (chirp) return await showChirp(ctx, request, reply, chirp[1], info)
    if (profile) return await showProfile(ctx, request, reply, profile[1], query, info)
    if (back.pathname === '/notifications') return await showNotifications(ctx, request, reply, query, info)
    return await showHome(ctx, request, reply, query, info)
  } catch (nested) {
    if (nested instanceof UserError) return showHome(ctx, request, reply, {}, info)
    throw nested
  }
}
