/**
 * What users do, shared by the routes and the seed. Each action checks its input first and throws
 * a {@link UserError} (nothing changed) when it is bad. Activities are published by the TypeORM
 * tracking when a row commits; `client.flush()` then waits for fan-out, so the next page shows it.
 */
import { In } from 'typeorm'
import { feedManager } from '../../src/django/index.js'
import { type ChirpContext, UserError } from './context.js'
import { Chirp, Like, type LinkPreview, MAX_CHIRP_LENGTH, type User } from './entities.js'

const USERNAME = /^[a-z0-9_]{3,15}$/
/** `@name` where a username may start: the same rule `chirp_text` uses to link mentions. */
export const MENTION = /(^|[^\w])@([a-z0-9_]{3,15})\b/gi
const COLORS = ['#6366f1', '#ec4899', '#f59e0b', '#10b981', '#0ea5e9', '#8b5cf6', '#ef4444', '#14b8a6']

/** Options every action takes: `at` backdates the row (the seed spreads data over days). */
export interface ActOptions {
  at?: Date
  /** Skip waiting for fan-out (the seed flushes once at the end). */
  noFlush?: boolean
}

async function done(ctx: ChirpContext, options: ActOptions): Promise<void> {
  if (!options.noFlush) await ctx.client.flush()
}

/** Finds a user by username, or explains that there is none. */
export async function findUser(ctx: ChirpContext, username: unknown): Promise<User> {
  const name = typeof username === 'string' ? username.trim().replace(/^@/, '').toLowerCase() : ''
  if (!name) throw new UserError(400, 'Enter a username.')
  const user = await ctx.users.findOneBy({ username: name })
  if (!user) throw new UserError(404, `There is no user named @${name}.`)
  return user
}

/** Creates a user whose home timelines follow their own feed. */
export async function createUser(
  ctx: ChirpContext,
  input: { username?: unknown; name?: unknown; bio?: unknown },
  options: ActOptions = {},
): Promise<User> {
  const username =
    typeof input.username === 'string' ? input.username.trim().replace(/^@/, '').toLowerCase() : ''
  const name = typeof input.name === 'string' ? input.name.trim() : ''
  if (!USERNAME.test(username)) {
    throw new UserError(400, 'Usernames are 3 to 15 letters, digits or underscores.')
  }
  if (!name || name.length > 50) throw new UserError(400, 'Enter a display name of at most 50 characters.')
  if (await ctx.users.existsBy({ username }))
    throw new UserError(409, `@${username} is taken; pick another username.`)
  const user = await ctx.users.save(
    ctx.users.create({
      username,
      name,
      bio: typeof input.bio === 'string' ? input.bio.slice(0, 160) : '',
      color: COLORS[[...username].reduce((h, c) => h + c.charCodeAt(0), 0) % COLORS.length],
      createdAt: options.at ?? new Date(),
    }),
  )
  // Your own chirps show on your home timeline (flat and aggregated).
  await feedManager.followUser(user.id, user.id)
  await done(ctx, options)
  return user
}

async function findChirp(ctx: ChirpContext, id: unknown): Promise<Chirp> {
  const n = typeof id === 'number' ? id : Number(id)
  const chirp = Number.isSafeInteger(n)
    ? await ctx.chirps.findOne({ where: { id: n }, relations: { rechirpOf: true } })
    : null
  if (!chirp) throw new UserError(404, 'That chirp does not exist (any more).')
  // Replies, likes and rechirps of a rechirp go to the original chirp.
  return chirp.rechirpOf ?? chirp
}

/** The ids of the users a chirp's text @mentions (existing users other than the author). */
async function mentions(ctx: ChirpContext, text: string, me: User): Promise<number[]> {
  const names = new Set([...text.matchAll(MENTION)].map((m) => m[2].toLowerCase()))
  names.delete(me.username)
  if (names.size === 0) return []
  const users = await ctx.users.find({ select: { id: true }, where: { username: In([...names]) } })
  return users.map((u) => u.id)
}

const LINK = /https?:\/\/[^\s<>"]+/i

/** The preview of the first link in `text`, or null (no link, or a page without preview data). */
async function linkPreview(ctx: ChirpContext, text: string): Promise<LinkPreview | null> {
  const url = LINK.exec(text)?.[0].replace(/[.,;:!?)]+$/, '')
  if (!url) return null
  try {
    const og = await ctx.client.og(url)
    if (!og.title && !og.description) return null
    return {
      url: og.url ?? url,
      title: og.title,
      description: og.description,
      image: og.images?.[0]?.image,
      siteName: og.site_name,
    }
  } catch {
    // No preview is not an error: the chirp is posted with its link as text.
    return null
  }
}

/** Stores an attached picture as the author (Eddy checks it is an image and within limits). */
async function uploadPicture(ctx: ChirpContext, me: User, image: unknown): Promise<string | null> {
  if (!(image instanceof Uint8Array) || image.length === 0) return null
  try {
    return (await ctx.client.images.upload(image, 'picture', undefined, { userId: String(me.id) })).file
  } catch (error) {
    const status = (error as { status_code?: number }).status_code
    if (status === 400 || status === 413)
      throw new UserError(400, `That picture could not be attached: ${(error as Error).message}`)
    throw error
  }
}

/** Posts a chirp, or a reply when `replyTo` names a chirp, with an optional picture. Mentioned users are notified. */
export async function postChirp(
  ctx: ChirpContext,
  me: User,
  input: { text?: unknown; replyTo?: unknown; image?: unknown },
  options: ActOptions = {},
): Promise<Chirp> {
  const text = typeof input.text === 'string' ? input.text.replace(/\r\n/g, '\n').trim() : ''
  const hasImage = input.image instanceof Uint8Array && input.image.length > 0
  if (!text && !hasImage) throw new UserError(400, 'Your chirp is empty. Write something first.')
  if (text.length > MAX_CHIRP_LENGTH) {
    throw new UserError(400, `Chirps are at most ${MAX_CHIRP_LENGTH} characters; yours has ${text.length}.`)
  }
  const parent = input.replyTo ? await findChirp(ctx, input.replyTo) : undefined
  const mentioned = await mentions(ctx, text, me)
  const imageUrl = await uploadPicture(ctx, me, input.image)
  const preview = await linkPreview(ctx, text)
  const chirp = await ctx.ds.transaction(async (m) => {
    const saved = await m.save(
      m.create(Chirp, {
        userId: me.id,
        text,
        replyToId: parent?.id ?? null,
        replyTo: parent ?? null,
        mentionIds: mentioned.length > 0 ? mentioned : null,
        rechirpOfId: null,
        imageUrl,
        preview,
        createdAt: options.at ?? new Date(),
      }),
    )
    if (parent) await m.increment(Chirp, { id: parent.id }, 'replyCount', 1)
    return saved
  })
  await done(ctx, options)
  return chirp
}

/** Rechirps a chirp to your followers. */
export async function rechirp(ctx: ChirpContext, me: User, chirpId: unknown, options: ActOptions = {}) {
  const original = await findChirp(ctx, chirpId)
  if (await ctx.chirps.existsBy({ userId: me.id, rechirpOfId: original.id })) {
    throw new UserError(409, 'You already rechirped that chirp.')
  }
  const chirp = await ctx.ds.transaction(async (m) => {
    const saved = await m.save(
      m.create(Chirp, {
        userId: me.id,
        text: '',
        replyToId: null,
        rechirpOfId: original.id,
        rechirpOf: original,
        createdAt: options.at ?? new Date(),
      }),
    )
    await m.increment(Chirp, { id: original.id }, 'rechirpCount', 1)
    return saved
  })
  await done(ctx, options)
  return chirp
}

/** Likes a chirp; its author is notified. */
export async function like(
  ctx: ChirpContext,
  me: User,
  chirpId: unknown,
  options: ActOptions = {},
): Promise<Like> {
  const chirp = await findChirp(ctx, chirpId)
  if (await ctx.likes.existsBy({ userId: me.id, chirpId: chirp.id })) {
    throw new UserError(409, 'You already like that chirp.')
  }
  const saved = await ctx.ds.transaction(async (m) => {
    const row = await m.save(
      m.create(Like, { userId: me.id, chirpId: chirp.id, chirp, createdAt: options.at ?? new Date() }),
    )
    await m.increment(Chirp, { id: chirp.id }, 'likeCount', 1)
    return row
  })
  await done(ctx, options)
  return saved
}

/** Takes a like back; the tracking removes its activity from every feed. */
export async function unlike(ctx: ChirpContext, me: User, chirpId: unknown, options: ActOptions = {}) {
  const chirp = await findChirp(ctx, chirpId)
  const row = await ctx.likes.findOneBy({ userId: me.id, chirpId: chirp.id })
  if (!row) throw new UserError(409, 'You do not like that chirp.')
  await ctx.ds.transaction(async (m) => {
    await m.remove(row)
    await m.decrement(Chirp, { id: chirp.id }, 'likeCount', 1)
  })
  await done(ctx, options)
}

/** Follows a user: a `Follow` row (its activity notifies them) and Eddy follows for the timelines. */
export async function follow(ctx: ChirpContext, me: User, username: unknown, options: ActOptions = {}) {
  const target = await findUser(ctx, username)
  if (target.id === me.id) throw new UserError(400, 'You cannot follow yourself.')
  if (await ctx.follows.existsBy({ followerId: me.id, followedId: target.id })) {
    throw new UserError(409, `You already follow @${target.username}.`)
  }
  await ctx.follows.save(
    ctx.follows.create({ followerId: me.id, followedId: target.id, createdAt: options.at ?? new Date() }),
  )
  await feedManager.followUser(me.id, target.id)
  await done(ctx, options)
  return target
}

/** Unfollows a user: their activities leave your timelines. */
export async function unfollow(ctx: ChirpContext, me: User, username: unknown, options: ActOptions = {}) {
  const target = await findUser(ctx, username)
  const row = await ctx.follows.findOneBy({ followerId: me.id, followedId: target.id })
  if (!row) throw new UserError(409, `You do not follow @${target.username}.`)
  await ctx.follows.remove(row)
  await feedManager.unfollowUser(me.id, target.id)
  await done(ctx, options)
  return target
}
