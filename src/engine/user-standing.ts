/**
 * A user's standing beside its data: whether the app deactivated it, and whom it blocks. Both are
 * documents of their own (not keys of the user's data, which the user may change itself):
 * `user_deactivated` by user id while the user is deactivated, and `user_blocks` by blocker, the
 * list of users it blocks (at most {@link MAX_BLOCKS}), changed by versioned read-modify-writes.
 * The rules of both live here; the edges ask them (a deactivated user's tokens are refused).
 */
import type { DocumentStore } from '../store/store.js'
import { requireId } from './documents.js'
import { conflict, EddyError, inputError, notFound } from './errors.js'
import type { FeedEvents, FeedMessage } from './events.js'

/** Document kind present while a user is deactivated: `{ at, by? }`. */
const DEACTIVATED_KIND = 'user_deactivated'
/** Document kind of a user's blocks: `{ blocks: [{ id, at }] }`, keyed by the blocker. */
const BLOCKS_KIND = 'user_blocks'
/** Most users one user may block. */
export const MAX_BLOCKS = 1_000
/** Most users one deactivate or reactivate call names. */
export const MAX_STANDING_BATCH = 100
/** Tries of a versioned read-modify-write before it gives up with a 409. */
const ATTEMPTS = 5
/**
 * How long a token check trusts that a user was active. Every deactivation also tells every
 * engine on the event bus at once (so on one server, or several sharing Redis, the next request
 * is refused); this bounds how late a server hears it when the bus lost that message.
 */
export const ACTIVE_TRUSTED_MS = 5_000
/** Most users whose active standing one engine remembers (the oldest are forgotten first). */
const ACTIVE_REMEMBERED = 10_000
/** The bus "feed" deactivations are announced on: no real feed id contains `~`. */
const STANDING_FEED = 'standing~deactivated'

/** One block: the blocked user and when. */
export interface Block {
  id: string
  at: string
}

/** What the standing use cases need from the engine. */
export interface StandingContext {
  documents: DocumentStore
  /** The ids among these that are users. */
  existing(ids: string[]): Promise<Set<string>>
  /** The engine's event bus: deactivations are announced on it to every engine sharing it. */
  events?: FeedEvents
}

/** The error a deactivated user's token gets, wherever it is shown. */
function deactivatedError(id: string): EddyError {
  return new EddyError(
    'NotAllowedException',
    `user ${id} is deactivated: its tokens are refused until the app reactivates it (ReactivateUser)`,
  )
}

/** Deactivation and blocks of users. */
export class UserStanding {
  readonly #ctx: StandingContext
  /**
   * Users a token check found active, with when that stops being trusted: a token check is on
   * every request with a user token, and on PostgreSQL each read is a round trip.
   */
  readonly #active = new Map<string, number>()
  /** Moves with every deactivation heard, so a check that read before it does not remember "active". */
  #generation = 0
  /** Told the ids of every deactivation heard (on this engine or another on the bus). */
  readonly #onDeactivated = new Set<(ids: string[]) => void>()

  constructor(ctx: StandingContext) {
    this.#ctx = ctx
    ctx.events?.listen(STANDING_FEED, (message) => this.#distrust(message.v3 ?? []))
  }

  /**
   * Deactivates users (1 to {@link MAX_STANDING_BATCH}; every one must exist, else a 404 naming
   * the missing): their tokens are refused from then on. A user deactivated already keeps its
   * first time. Resolves with each user's deactivation time.
   */
  async deactivate(ids: unknown, by?: string): Promise<Map<string, string>> {
    const checked = await this.#existingBatch(ids)
    const at = new Date().toISOString()
    const data = by === undefined ? { at } : { at, by }
    for (const id of checked) await this.#ctx.documents.putDoc(DEACTIVATED_KIND, id, data, 'insert')
    this.#announce(checked)
    return this.deactivated(checked)
  }

  /**
   * Reactivates users (same bounds as deactivate): their tokens work again. Reactivating an active
   * user does nothing. Resolves with the ids, each once.
   */
  async reactivate(ids: unknown): Promise<string[]> {
    const checked = await this.#existingBatch(ids)
    await this.#ctx.documents.deleteDocs(DEACTIVATED_KIND, checked)
    return checked
  }

  /** The deactivated users among these, with their deactivation times. */
  async deactivated(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map()
    const docs = await this.#ctx.documents.getDocs(DEACTIVATED_KIND, ids)
    return new Map(docs.map((d) => [d.id, typeof d.data.at === 'string' ? d.data.at : d.createdAt]))
  }

  /** The error a deactivated user's tokens get (403), for the edges that show it elsewhere (a closed socket). */
  refusal(id: string): EddyError {
    return deactivatedError(id)
  }

  /** Throws the deactivated error when user `id` is deactivated (a token check). */
  async requireActive(id: string): Promise<void> {
    const trusted = this.#active.get(id)
    if (trusted !== undefined && trusted > Date.now()) return
    const generation = this.#generation
    const [doc] = await this.#ctx.documents.getDocs(DEACTIVATED_KIND, [id])
    if (doc) {
      this.#active.delete(id)
      throw deactivatedError(id)
    }
    // A deactivation heard while this read was under way may have come after it: not remembered.
    if (generation !== this.#generation) return
    this.#active.delete(id)
    if (this.#active.size >= ACTIVE_REMEMBERED)
      this.#active.delete(this.#active.keys().next().value as string)
    this.#active.set(id, Date.now() + ACTIVE_TRUSTED_MS)
  }

  /** Tells every engine on the bus (this one at once) to check these users' tokens afresh. */
  #announce(ids: string[]): void {
    const users = ids.map((id) => ({ user_id: id }))
    const events = this.#ctx.events
    if (!events) {
      this.#distrust(users)
      return
    }
    const message: FeedMessage = {
      feed: STANDING_FEED,
      new: [],
      deleted: [],
      deleted_foreign_ids: [],
      app_id: '',
      published_at: new Date().toISOString(),
      v3: users,
    }
    events.publish(message)
  }

  /**
   * Calls `listener` with the ids of every deactivation heard from now on, here or on another
   * engine sharing the bus (so an edge can end the deactivated users' open connections); returns
   * the function that stops it.
   */
  onDeactivated(listener: (ids: string[]) => void): () => void {
    this.#onDeactivated.add(listener)
    return () => this.#onDeactivated.delete(listener)
  }

  /** Forgets that these users (`{ user_id }` each) were active, and tells the listeners. */
  #distrust(users: Record<string, unknown>[]): void {
    this.#generation++
    const ids = users.flatMap((user) => (typeof user.user_id === 'string' ? [user.user_id] : []))
    for (const id of ids) this.#active.delete(id)
    for (const listener of this.#onDeactivated) {
      try {
        listener(ids)
      } catch {
        // One edge's failure must not stop the others hearing it (the deactivation has committed).
      }
    }
  }

  /** Forgets the standing of deleted users (their deactivation and their own blocks). */
  async forget(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#ctx.documents.deleteDocs(DEACTIVATED_KIND, ids)
    await this.#ctx.documents.deleteDocs(BLOCKS_KIND, ids)
  }

  /**
   * `blocker` blocks `blocked` (both users; not itself). Blocking again keeps the first time.
   * Resolves with the block.
   */
  async block(blocker: unknown, blocked: unknown): Promise<Block> {
    const [from, to] = await this.#pair(blocker, blocked)
    const at = new Date().toISOString()
    let made: Block | undefined
    await this.#changeBlocks(from, (blocks) => {
      made = blocks.find((b) => b.id === to)
      if (made) return undefined
      if (blocks.length >= MAX_BLOCKS)
        throw inputError(`a user may block at most ${MAX_BLOCKS} users`, to, 'blocked_user_id')
      made = { id: to, at }
      return [...blocks, made]
    })
    return made as Block
  }

  /** `blocker` unblocks `blocked`; unblocking a user not blocked does nothing. */
  async unblock(blocker: unknown, blocked: unknown): Promise<void> {
    const from = requireId(blocker, 'user_id')
    const to = requireId(blocked, 'blocked_user_id')
    await this.#changeBlocks(from, (blocks) =>
      blocks.some((b) => b.id === to) ? blocks.filter((b) => b.id !== to) : undefined,
    )
  }

  /** The users `blocker` blocks, oldest block first. */
  async blocks(blocker: string): Promise<Block[]> {
    const [doc] = await this.#ctx.documents.getDocs(BLOCKS_KIND, [blocker])
    return blocksOf(doc?.data)
  }

  /** Checks a batch of ids and that each is a user (404 naming those that are not). */
  async #existingBatch(ids: unknown): Promise<string[]> {
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_STANDING_BATCH)
      throw inputError(`user_ids must be a list of 1 to ${MAX_STANDING_BATCH} ids`, ids, 'user_ids')
    const checked = [...new Set(ids.map((id) => requireId(id, 'user_ids')))]
    const known = await this.#ctx.existing(checked)
    const missing = checked.filter((id) => !known.has(id))
    if (missing.length > 0) throw notFound(`users ${missing.join(', ')} do not exist`)
    return checked
  }

  /** A blocker and a blocked user, both existing, not the same. */
  async #pair(blocker: unknown, blocked: unknown): Promise<[string, string]> {
    const from = requireId(blocker, 'user_id')
    const to = requireId(blocked, 'blocked_user_id')
    if (from === to) throw inputError('a user cannot block itself', to, 'blocked_user_id')
    const known = await this.#ctx.existing([from, to])
    for (const id of [from, to]) if (!known.has(id)) throw notFound(`user ${id} does not exist`)
    return [from, to]
  }

  /** Versioned read-modify-write of a blocker's list; `apply` answers undefined for no change. */
  async #changeBlocks(blocker: string, apply: (blocks: Block[]) => Block[] | undefined): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [doc] = await this.#ctx.documents.getDocs(BLOCKS_KIND, [blocker])
      const next = apply(blocksOf(doc?.data))
      if (next === undefined) return
      const written = doc
        ? await this.#ctx.documents.putDoc(BLOCKS_KIND, blocker, { blocks: next }, 'update', doc.updatedAt)
        : await this.#ctx.documents.putDoc(BLOCKS_KIND, blocker, { blocks: next }, 'insert')
      if (written) return
    }
    throw conflict(`the blocks of user ${blocker} kept changing meanwhile; try again`)
  }
}

/** The blocks a stored list holds (entries that are not `{ id, at }` are skipped). */
function blocksOf(data: Record<string, unknown> | undefined): Block[] {
  const list = data?.blocks
  if (!Array.isArray(list)) return []
  return list.filter(
    (b): b is Block =>
      b !== null && typeof b === 'object' && typeof b.id === 'string' && typeof b.at === 'string',
  )
}
