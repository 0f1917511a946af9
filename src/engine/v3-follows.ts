/**
 * Feeds V3 follows on the engine's one follow graph: an accepted V3 follow *is* the engine's
 * follow edge (so V1 and V3 see the same follows, and fan-out is the engine's). What V3 adds is
 * kept beside it as documents:
 * - `v3_follow`, keyed by `<source> <target>`: a follow's status (`pending` request, `accepted`,
 *   `rejected`), custom data, push preference and role. A follow with no document is an accepted
 *   one with the defaults. The document is the truth for requests; an edge exists only once a
 *   follow is accepted.
 * - `v3_follow_requests`, keyed by the target fid: the sources that asked (a bounded index, so an
 *   owner can list requests). It may hold more than the pending ones (a crash between two
 *   writes): readers keep only the sources whose `v3_follow` says `pending`.
 * Every read-modify-write is versioned (`ifUpdatedAt`), so concurrent accepts, rejects and
 * updates apply once each or fail with a conflict, never half.
 */
import type { DocumentStore, FollowRow } from '../store/store.js'
import { conflict, inputError, notFound } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import type { FollowPair } from './follows.js'
import { rewriteDoc } from './v3-docs.js'
import { type FollowExtras, type FollowState, fresh, fromEdge } from './v3-follow-model.js'

export type { FollowExtras, FollowState, FollowStatus } from './v3-follow-model.js'

const FOLLOW_KIND = 'v3_follow'
const REQUESTS_KIND = 'v3_follow_requests'
/** Most pending requests one feed holds (a request past it is refused until some are answered). */
export const MAX_PENDING_REQUESTS = 1_000

/** What the use cases need of the engine's follow graph. */
export interface FollowGraph {
  follow(pairs: FollowPair[]): Promise<void>
  unfollow(pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[]): Promise<void>
  /** The edge `source` → `target`, if any. */
  edge(source: FeedRef, target: FeedRef): Promise<FollowRow | undefined>
}

const key = (source: string, target: string) => `${source} ${target}`

/** The V3 follow use cases (requests, accept, reject, update, unfollow) over the engine's edges. */
export class V3Follows {
  readonly #documents: DocumentStore
  readonly #graph: FollowGraph

  constructor(documents: DocumentStore, graph: FollowGraph) {
    this.#documents = documents
    this.#graph = graph
  }

  /** The V3 state of follow pairs that have one (by `<source> <target>`). */
  async states(pairs: { source: string; target: string }[]): Promise<Map<string, FollowState>> {
    if (pairs.length === 0) return new Map()
    const docs = await this.#documents.getDocs(
      FOLLOW_KIND,
      pairs.map((p) => key(p.source, p.target)),
    )
    return new Map(docs.map((d) => [d.id, d.data as unknown as FollowState]))
  }

  /**
   * Makes follows that need no approval: the engine's edges (copying history), then the V3
   * extras of the pairs that carry some or had a request or rejection on record.
   */
  async follow(pairs: (FollowPair & { extras?: FollowExtras })[]): Promise<void> {
    await this.#graph.follow(pairs)
    const known = await this.states(pairs.map((p) => ({ source: p.source.id, target: p.target.id })))
    for (const p of pairs) {
      const before = known.get(key(p.source.id, p.target.id))
      const extras = p.extras ?? {}
      if (!before && Object.keys(extras).length === 0) continue
      await this.#put(p.source.id, p.target.id, (s) => ({
        ...(s ?? fresh(p.source.id, p.target.id)),
        ...extras,
        status: 'accepted',
      }))
      if (before?.status === 'pending') await this.#unlist(p.target.id, p.source.id)
    }
  }

  /**
   * Asks to follow `target` (a feed whose follows need approval). An accepted follow stays as
   * it is; otherwise the request is listed on the target, then recorded as pending.
   */
  async request(source: FeedRef, target: FeedRef, extras: FollowExtras = {}): Promise<FollowState> {
    const edge = await this.#graph.edge(source, target)
    const [existing] = (await this.states([{ source: source.id, target: target.id }])).values()
    if (edge && (!existing || existing.status === 'accepted')) return existing ?? fromEdge(edge)
    if (existing?.status === 'pending') return existing
    await this.#list(target.id, source.id)
    return this.#put(source.id, target.id, (s) => ({
      ...fresh(source.id, target.id),
      ...(s?.custom ? { custom: s.custom } : {}),
      ...extras,
      status: 'pending',
    }))
  }

  /** Accepts a pending request (accepting an accepted follow again changes nothing). */
  async accept(source: FeedRef, target: FeedRef, role?: string): Promise<FollowState> {
    const [state] = (await this.states([{ source: source.id, target: target.id }])).values()
    if (!state || state.status === 'rejected') {
      const edge = await this.#graph.edge(source, target)
      if (edge && !state) return fromEdge(edge)
      throw notFound(`${source.id} has no follow request for ${target.id}`)
    }
    // The status flips first (versioned: a concurrent reject wins once), then the edge is made;
    // a crash between leaves an accepted record whose edge the next accept makes (idempotent).
    const now = new Date().toISOString()
    const accepted = await this.#put(source.id, target.id, (s) => {
      if (!s || s.status === 'rejected')
        throw conflict(`the follow request of ${source.id} was answered meanwhile`)
      return {
        ...s,
        status: 'accepted',
        follower_role: role ?? s.follower_role,
        request_accepted_at: s.request_accepted_at ?? now,
      }
    })
    await this.#graph.follow([{ source, target }])
    await this.#unlist(target.id, source.id)
    return accepted
  }

  /** Rejects a request, or removes an accepted follower; the record stays as `rejected`. */
  async reject(source: FeedRef, target: FeedRef): Promise<FollowState> {
    const edge = await this.#graph.edge(source, target)
    const [state] = (await this.states([{ source: source.id, target: target.id }])).values()
    if (!edge && (!state || state.status === 'rejected'))
      throw notFound(`${source.id} has no follow request for ${target.id}`)
    const now = new Date().toISOString()
    const rejected = await this.#put(source.id, target.id, (s) => ({
      ...(s ?? (edge ? fromEdge(edge) : fresh(source.id, target.id))),
      status: 'rejected',
      request_rejected_at: now,
    }))
    if (edge) await this.#graph.unfollow([{ source, target, keepHistory: false }])
    await this.#unlist(target.id, source.id)
    return rejected
  }

  /** Changes a follow's custom data, push preference or role (its status through accept/reject). */
  async update(source: FeedRef, target: FeedRef, extras: FollowExtras): Promise<FollowState> {
    const edge = await this.#graph.edge(source, target)
    const [state] = (await this.states([{ source: source.id, target: target.id }])).values()
    if (!edge && state?.status !== 'pending') throw notFound(`${source.id} does not follow ${target.id}`)
    return this.#put(source.id, target.id, (s) => {
      const base = s ?? (edge ? fromEdge(edge) : undefined)
      if (!base) throw conflict(`the follow of ${source.id} was removed meanwhile`)
      return { ...base, ...extras }
    })
  }

  /**
   * Removes a follow or withdraws a request: the engine's edge (with the history that came
   * through it unless `keepHistory`), then its V3 record. Resolves with what was removed.
   */
  async remove(source: FeedRef, target: FeedRef, keepHistory: boolean): Promise<FollowState | undefined> {
    const edge = await this.#graph.edge(source, target)
    const [state] = (await this.states([{ source: source.id, target: target.id }])).values()
    const live = edge ? (state ?? fromEdge(edge)) : state?.status === 'pending' ? state : undefined
    if (!live) return undefined
    if (edge) await this.#graph.unfollow([{ source, target, keepHistory }])
    if (state) await this.#documents.deleteDocs(FOLLOW_KIND, [key(source.id, target.id)])
    if (state?.status === 'pending') await this.#unlist(target.id, source.id)
    return { ...live, status: edge ? 'accepted' : live.status }
  }

  /**
   * Removes several follows (UnfollowBatch): every pair must be a follow or a request (404 naming
   * the first that is not, before anything is removed); the engine's edges then go in its unfollow
   * writes (each atomic, as V1's unfollow_many), the V3 records in one delete. Resolves with what
   * was removed, in order.
   */
  async removeMany(
    pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[],
  ): Promise<FollowState[]> {
    const states = await this.states(pairs.map((p) => ({ source: p.source.id, target: p.target.id })))
    const found = await Promise.all(
      pairs.map(async (p) => {
        const edge = await this.#graph.edge(p.source, p.target)
        const state = states.get(key(p.source.id, p.target.id))
        const live = edge ? (state ?? fromEdge(edge)) : state?.status === 'pending' ? state : undefined
        if (!live) throw notFound(`${p.source.id} does not follow ${p.target.id}`)
        return {
          pair: p,
          edge,
          state,
          live: { ...live, status: edge ? 'accepted' : live.status } as FollowState,
        }
      }),
    )
    const edges = found.filter((f) => f.edge).map((f) => f.pair)
    if (edges.length > 0) await this.#graph.unfollow(edges)
    const records = found.filter((f) => f.state).map((f) => key(f.pair.source.id, f.pair.target.id))
    if (records.length > 0) await this.#documents.deleteDocs(FOLLOW_KIND, records)
    for (const f of found)
      if (f.state?.status === 'pending') await this.#unlist(f.pair.target.id, f.pair.source.id)
    return found.map((f) => f.live)
  }

  /** Pending requests to follow `target`, oldest first, at most `limit`. */
  async pending(target: string, limit: number): Promise<FollowState[]> {
    const [doc] = await this.#documents.getDocs(REQUESTS_KIND, [target])
    const sources = (doc?.data.sources as string[] | undefined) ?? []
    const states = await this.states(sources.map((source) => ({ source, target })))
    return sources
      .map((s) => states.get(key(s, target)))
      .filter((s): s is FollowState => s?.status === 'pending')
      .slice(0, limit)
  }

  /** Writes a follow's record through `change` (versioned, retried when a concurrent write won). */
  async #put(
    source: string,
    target: string,
    change: (state: FollowState | undefined) => FollowState,
  ): Promise<FollowState> {
    const written = await rewriteDoc<FollowState>(this.#documents, FOLLOW_KIND, key(source, target), (s) => ({
      ...change(s),
      updated_at: new Date().toISOString(),
    }))
    return written as FollowState
  }

  /** Adds `source` to `target`'s request index (bounded). */
  async #list(target: string, source: string): Promise<void> {
    await rewriteDoc<{ sources: string[] }>(this.#documents, REQUESTS_KIND, target, (doc) => {
      const sources = doc?.sources ?? []
      if (sources.includes(source)) return undefined
      if (sources.length >= MAX_PENDING_REQUESTS)
        throw inputError(
          `${target} has ${MAX_PENDING_REQUESTS} follow requests waiting; answer some first`,
          source,
          'source',
        )
      return { sources: [...sources, source] }
    })
  }

  /** Drops `source` from `target`'s request index. */
  async #unlist(target: string, source: string): Promise<void> {
    await rewriteDoc<{ sources: string[] }>(this.#documents, REQUESTS_KIND, target, (doc) =>
      doc?.sources.includes(source) ? { sources: doc.sources.filter((s) => s !== source) } : undefined,
    )
  }
}
