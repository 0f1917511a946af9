/**
 * V3 bookmarks and bookmark folders. A bookmark is the user's own reaction of kind `bookmark`
 * on the activity (on a comment: a child of the comment, the same rules), one per folder (the folder id is the reaction's slot, engine/own-reactions.ts,
 * so two adds at once leave one); folders are the engine's V3 records (v3-bookmark-folders.ts).
 * A user sees, changes and queries only its own bookmarks and folders; the app names the user.
 * Bookmark events go only to the user's own connections.
 */
import type { Activity } from '../engine/activity.js'
import { inputError, notFound } from '../engine/errors.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { BookmarkFolder } from '../engine/v3-bookmark-folders.js'
import { loadActivity, readerOf, requireReadable, writer } from './activities.js'
import { v3Id } from './activity-model.js'
import type { BookmarkFolderResponse, BookmarkResponse } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { cursorOf, customOf, limitOf, loadComment, reactionPage, shownActivity } from './reaction-access.js'
import { BOOKMARK, bookmarkResponse, commentResponse } from './reaction-model.js'
import { rfc3339 } from './time.js'
import { userResponse } from './users.js'

const MAX_LIMIT = 25
const MAX_NAME = 255
/** Bookmarks a folder filter looks through (newest first). */
const SCAN = 250

/** A folder as V3's BookmarkFolderResponse. */
export function folderResponse(f: BookmarkFolder): BookmarkFolderResponse {
  return {
    id: f.id,
    name: f.name,
    custom: f.custom,
    user: userResponse(f.user_id),
    created_at: rfc3339(f.created_at),
    updated_at: rfc3339(f.updated_at),
  }
}

function nameOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME)
    throw inputError(`${field} must be text of 1 to ${MAX_NAME} characters`, value, field)
  return value
}

/** The value a filter field asks for: itself or its `$eq`. */
const eqOf = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, '$eq')
    ? (v as { $eq: unknown }).$eq
    : v

/** Registers the V3 bookmark and bookmark folder routes. */
export function bookmarkRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const reactions = ctx.engine.reactions
  const folders = ctx.engine.v3.folders

  /** The caller's folder `id` (404 for another user's), or a new one from `new_folder`. */
  const folderFor = async (user: string, id: unknown, fresh: unknown, field: string) => {
    if (fresh !== undefined && fresh !== null) {
      if (typeof fresh !== 'object' || Array.isArray(fresh))
        throw inputError('new_folder must be an object', fresh, 'new_folder')
      const f = fresh as Record<string, unknown>
      return folders.create(
        user,
        nameOf(f.name, 'new_folder.name'),
        customOf(f.custom, 'new_folder.custom') ?? {},
      )
    }
    if (id === undefined || id === null || id === '') return undefined
    if (typeof id !== 'string' || id.length > 255) throw inputError(`${field} must be a folder id`, id, field)
    const found = (await folders.get([id])).get(id)
    if (!found || found.user_id !== user) throw notFound(`folder ${id} does not exist`)
    return found
  }

  const shown = async (r: Reaction, activity: Activity, reader: string | undefined, comment?: Reaction) => {
    const on = comment ? commentResponse(comment, v3Id(activity)) : undefined
    const out: BookmarkResponse = bookmarkResponse(r, await shownActivity(ctx, activity, reader), on)
    const id = typeof r.data.folder_id === 'string' ? r.data.folder_id : undefined
    const folder = id ? (await folders.get([id])).get(id) : undefined
    if (folder) out.folder = folderResponse(folder)
    return out
  }
  const tell = (user: string, type: string, bookmark: BookmarkResponse) =>
    hub.publishToUser(user, [v3Event(type, { bookmark })])

  /** What a bookmark is on: an activity the caller may read, or a comment on one. */
  interface Target {
    activity: Activity
    comment?: Reaction
    name: string
    /** The path parameter naming it, for errors. */
    field: string
  }
  /** `read`: the caller must still read the activity (not to delete its own bookmark). */
  const activityTarget = async (caller: Caller, id: unknown, read = true): Promise<Target> => {
    const activity = await loadActivity(ctx, id, 'activity_id')
    if (read) await requireReadable(ctx, caller, activity)
    return { activity, name: String(id), field: 'activity_id' }
  }
  const commentTarget = async (caller: Caller, id: unknown): Promise<Target> => {
    const { reaction, activity } = await loadComment(ctx, caller, id)
    return { activity, comment: reaction, name: `comment ${String(id)}`, field: 'comment_id' }
  }
  /** The user's own bookmark on `t` in folder `slot` ('' for none), if there is one. */
  const existing = (user: string, t: Target, slot: string) =>
    reactions.getOwn(user, { activity_id: t.activity.id, parent: t.comment?.id ?? '' }, BOOKMARK, slot)
  const put = (user: string, t: Target, slot: string, data: Record<string, unknown>) =>
    reactions.putOwn(
      { kind: BOOKMARK, activity_id: t.activity.id, parent: t.comment?.id ?? '', user_id: user, data, slot },
      { update: true },
    )

  /** AddBookmark and AddCommentBookmark: one bookmark per folder, in a folder of the user's own. */
  const addBookmark = async (user: string, t: Target, body: Record<string, unknown>) => {
    const folder = await folderFor(user, body.folder_id, body.new_folder, 'folder_id')
    if (await existing(user, t, folder?.id ?? ''))
      throw inputError(
        `${t.name} is bookmarked already${folder ? ` in folder ${folder.id}` : ''}`,
        t.name,
        'id',
      )
    const custom = customOf(body.custom, 'custom')
    const data = { ...(custom ? { custom } : {}), ...(folder ? { folder_id: folder.id } : {}) }
    const { reaction } = await put(user, t, folder?.id ?? '', data)
    const bookmark = await shown(reaction, t.activity, user, t.comment)
    tell(user, 'feeds.bookmark.added', bookmark)
    return { bookmark }
  }

  /** UpdateBookmark and UpdateCommentBookmark: new custom data, or a move to another folder. */
  const updateBookmark = async (user: string, t: Target, body: Record<string, unknown>) => {
    const from = await folderFor(user, body.folder_id, undefined, 'folder_id')
    const old = await existing(user, t, from?.id ?? '')
    if (!old) throw notFound(`${user} has no bookmark on ${t.name}`)
    const moving = body.new_folder !== undefined || typeof body.new_folder_id === 'string'
    const to = moving ? await folderFor(user, body.new_folder_id, body.new_folder, 'new_folder_id') : from
    const custom = customOf(body.custom, 'custom') ?? (old.data.custom as Record<string, unknown> | undefined)
    const data = { ...(custom ? { custom } : {}), ...(to ? { folder_id: to.id } : {}) }
    // A move is a bookmark in the new folder, then the old one's removal.
    const { reaction } = await put(user, t, to?.id ?? '', data)
    if (reaction.id !== old.id) await reactions.delete(old.id, false, user)
    const bookmark = await shown(reaction, t.activity, user, t.comment)
    tell(user, 'feeds.bookmark.updated', bookmark)
    return { bookmark }
  }

  /** DeleteBookmark and DeleteCommentBookmark: the user's bookmark in the folder named (or none). */
  const deleteBookmark = async (user: string, t: Target, folderId: unknown) => {
    const folder = await folderFor(user, folderId, undefined, 'folder_id')
    const old = await existing(user, t, folder?.id ?? '')
    if (!old) throw notFound(`${user} has no bookmark on ${t.name}`)
    await reactions.delete(old.id, false, user)
    const bookmark = await shown(old, t.activity, user, t.comment)
    tell(user, 'feeds.bookmark.deleted', bookmark)
    return { bookmark }
  }

  type Find = (caller: Caller, params: Record<string, string>, read: boolean) => Promise<Target>
  const routes: [string, Find][] = [
    ['/feeds/activities/:activity_id/bookmarks', (c, p, read) => activityTarget(c, p.activity_id, read)],
    // A comment is found only through an activity its caller may read, deletes included.
    ['/feeds/comments/:comment_id/bookmarks', (c, p) => commentTarget(c, p.comment_id)],
  ]
  for (const [path, find] of routes) {
    v3route(
      edge,
      'POST',
      path,
      async ({ caller, params, body }) =>
        addBookmark(writer(caller, body), await find(caller, params, true), body),
      201,
    )
    v3route(edge, 'PATCH', path, async ({ caller, params, body }) =>
      updateBookmark(writer(caller, body), await find(caller, params, true), body),
    )
    v3route(edge, 'DELETE', path, async ({ caller, params, query }) => {
      const user = writer(caller, { user_id: query.user_id })
      return deleteBookmark(user, await find(caller, params, false), query.folder_id)
    })
  }

  /** The user a query is about: the token's user, or the filter's `user_id` for the app. */
  const queryUser = (caller: Caller, filter: Record<string, unknown>) => {
    const reader = readerOf(caller)
    const named = eqOf(filter.user_id)
    if (reader !== undefined) {
      if (named !== undefined && named !== reader)
        throw inputError('a user queries only its own bookmarks', named, 'filter.user_id')
      return reader
    }
    return writer(caller, { user_id: named })
  }
  const filterOf = (value: unknown, allowed: string[]) => {
    if (value === undefined || value === null) return {}
    if (typeof value !== 'object' || Array.isArray(value))
      throw inputError('filter must be an object', value, 'filter')
    for (const key of Object.keys(value))
      if (!allowed.includes(key))
        throw inputError(`this filter takes ${allowed.join(', ')}`, key, `filter.${key}`)
    return value as Record<string, unknown>
  }

  v3route(edge, 'POST', '/feeds/bookmarks/query', async ({ caller, body }) => {
    const filter = filterOf(body.filter, ['activity_id', 'folder_id', 'user_id'])
    const user = queryUser(caller, filter)
    const limit = limitOf(body.limit, MAX_LIMIT, MAX_LIMIT)
    const activityId = eqOf(filter.activity_id)
    const folderId = eqOf(filter.folder_id)
    let rows: Reaction[] = []
    let next: string | undefined
    if (activityId !== undefined) {
      const activity = await loadActivity(ctx, activityId, 'filter.activity_id').catch(() => undefined)
      if (activity) {
        const page = await reactionPage(
          ctx,
          {
            activity_id: activity.id,
            filter_user_id: user,
            kind: BOOKMARK,
            limit,
            id_lt: cursorOf(body.next, 'next'),
          },
          user,
        )
        ;({ results: rows, next } = page)
      }
    } else {
      // Newest first through the user's bookmarks; a folder filter looks through at most SCAN a call.
      let cursor = cursorOf(body.next, 'next')
      let scanned = 0
      let more = true
      while (rows.length < limit && scanned < SCAN && more) {
        const page = await reactionPage(
          ctx,
          { user_id: user, kind: BOOKMARK, limit: MAX_LIMIT, id_lt: cursor },
          user,
        )
        more = page.next !== undefined
        for (const [i, r] of page.results.entries()) {
          scanned++
          cursor = r.id
          if (folderId === undefined || r.data.folder_id === folderId) rows.push(r)
          if (rows.length === limit) {
            more ||= i < page.results.length - 1
            break
          }
        }
      }
      next = more ? cursor : undefined
    }
    if (folderId !== undefined) rows = rows.filter((r) => r.data.folder_id === folderId)
    const ids = [...new Set(rows.map((r) => r.activity_id))]
    const activities = new Map(
      (ids.length === 0 ? [] : await ctx.engine.getActivities(ids)).map((a) => [a.id, a]),
    )
    const bookmarks: BookmarkResponse[] = []
    for (const r of rows) {
      const activity = activities.get(r.activity_id)
      // A comment bookmark shows its comment (gone: the bookmark is left out, as for activities).
      const comment = r.parent ? await reactions.get(r.parent, user).catch(() => undefined) : undefined
      if (activity && (!r.parent || comment)) bookmarks.push(await shown(r, activity, user, comment))
    }
    return { bookmarks, ...(next ? { next } : {}) }
  })

  v3route(edge, 'POST', '/feeds/bookmark_folders/query', async ({ caller, body }) => {
    const filter = filterOf(body.filter, ['folder_name', 'user_id', 'id'])
    const user = queryUser(caller, filter)
    const limit = limitOf(body.limit, MAX_LIMIT, MAX_LIMIT)
    const name = filter.folder_name
    const matches = (f: BookmarkFolder) => {
      if (name === undefined) return true
      if (typeof name === 'string') return f.name === name
      if (name === null || typeof name !== 'object' || Array.isArray(name))
        throw inputError('folder_name takes text, $eq, $in or $contains', name, 'filter.folder_name')
      const op = name as Record<string, unknown>
      if (typeof op.$eq === 'string') return f.name === op.$eq
      if (typeof op.$contains === 'string') return f.name.toLowerCase().includes(op.$contains.toLowerCase())
      if (Array.isArray(op.$in)) return op.$in.includes(f.name)
      throw inputError('folder_name takes text, $eq, $in or $contains', name, 'filter.folder_name')
    }
    const id = eqOf(filter.id)
    const all = (await folders.list(user)).filter((f) => matches(f) && (id === undefined || f.id === id))
    const cursor = cursorOf(body.next, 'next')
    const start = cursor ? all.findIndex((f) => f.id === cursor) + 1 : 0
    const page = all.slice(start, start + limit)
    const last = page.at(-1)
    return {
      bookmark_folders: page.map(folderResponse),
      ...(last && start + limit < all.length ? { next: last.id } : {}),
    }
  })

  v3route(edge, 'PATCH', '/feeds/bookmark_folders/:folder_id', async ({ caller, params, body }) => {
    const user = caller.kind === 'server' ? undefined : writer(caller, body)
    const change = {
      ...(body.name !== undefined ? { name: nameOf(body.name, 'name') } : {}),
      ...(body.custom !== undefined ? { custom: customOf(body.custom, 'custom') } : {}),
    }
    return { bookmark_folder: folderResponse(await folders.update(user, params.folder_id, change)) }
  })

  v3route(edge, 'DELETE', '/feeds/bookmark_folders/:folder_id', async ({ caller, params }) => {
    const user = caller.kind === 'server' ? undefined : writer(caller, {})
    await folders.delete(user, params.folder_id)
    return {}
  })
}
