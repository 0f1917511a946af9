/**
 * Feeds V3 polls: one bounded document per poll (`v3_poll`, keyed by its id) with its options
 * and votes. The voting rules live here, once: a vote names an option of the poll (or is an
 * answer when the poll allows answers), a closed poll takes none, `enforce_unique_vote` makes a
 * user's new vote replace its earlier one, `max_votes_allowed` caps a user's votes, and a poll
 * holds at most MAX_VOTES votes. Every change is a versioned read-modify-write (v3-docs.ts), so
 * concurrent votes all land or retry.
 */
import { randomUUID } from 'node:crypto'
import type { DocumentStore } from '../store/store.js'
import { inputError, notAllowed, notFound } from './errors.js'
import { rewriteDoc } from './v3-docs.js'
import {
  applied,
  MAX_CARRIERS,
  MAX_OPTIONS,
  MAX_VOTES,
  option,
  type Poll,
  type PollOption,
  type PollVote,
  pick,
  text,
} from './v3-poll-model.js'

export type { Poll, PollOption, PollVote } from './v3-poll-model.js'

const KIND = 'v3_poll'

/** The V3 poll use cases. */
export class V3Polls {
  readonly #documents: DocumentStore

  constructor(documents: DocumentStore) {
    this.#documents = documents
  }

  /** Creates a poll by `userId` from a CreatePoll body. */
  async create(input: Record<string, unknown>, userId: string): Promise<Poll> {
    const options = input.options ?? []
    if (!Array.isArray(options) || options.length > MAX_OPTIONS)
      throw inputError(`options must list at most ${MAX_OPTIONS} options`, options, 'options')
    const now = new Date().toISOString()
    const id = input.id === undefined ? randomUUID() : text(input.id, 'id', true)
    const base: Poll = {
      id,
      name: '',
      description: '',
      options: options.map((o, i) => option(o, `options[${i}]`)),
      enforce_unique_vote: false,
      allow_answers: false,
      allow_user_suggested_options: false,
      voting_visibility: 'public',
      is_closed: false,
      custom: {},
      created_by_id: userId,
      created_at: now,
      updated_at: now,
      votes: [],
    }
    const poll = applied(base, { name: input.name, ...pick(input) })
    const written = await this.#documents.putDoc(
      KIND,
      id,
      poll as unknown as Record<string, unknown>,
      'insert',
    )
    if (!written) throw inputError(`a poll with id ${id} exists already`, id, 'id')
    return poll
  }

  /** A poll, or 404. */
  async get(id: string): Promise<Poll> {
    const [doc] = await this.#documents.getDocs(KIND, [id])
    if (!doc) throw notFound(`poll ${id} does not exist`)
    return doc.data as unknown as Poll
  }

  /** Polls by id (unknown ids left out). */
  async many(ids: string[]): Promise<Map<string, Poll>> {
    if (ids.length === 0) return new Map()
    const docs = await this.#documents.getDocs(KIND, [...new Set(ids)])
    return new Map(docs.map((d) => [d.id, d.data as unknown as Poll]))
  }

  /**
   * Changes a poll's fields (`options`: replaces them, keeping the ids named); `userId`: only its
   * creator's. Resolves with the poll and whether this change closed it.
   */
  async update(
    id: string,
    set: Record<string, unknown>,
    unset: string[],
    userId?: string,
  ): Promise<{ poll: Poll; closed: boolean }> {
    let closed = false
    const poll = await this.#rewrite(id, (poll) => {
      if (userId !== undefined && poll.created_by_id !== userId) throw notFound(`poll ${id} does not exist`)
      const next = applied(poll, set, unset)
      closed = !poll.is_closed && next.is_closed
      if (set.options !== undefined) {
        if (!Array.isArray(set.options) || set.options.length > MAX_OPTIONS)
          throw inputError(`options must list at most ${MAX_OPTIONS} options`, set.options, 'options')
        next.options = set.options.map((o, i) => {
          const made = option(o, `options[${i}]`)
          const keep = (o as { id?: unknown }).id
          return typeof keep === 'string' && poll.options.some((p) => p.id === keep)
            ? { ...made, id: keep }
            : made
        })
        const ids = new Set(next.options.map((o) => o.id))
        next.votes = poll.votes.filter((v) => v.is_answer || ids.has(v.option_id))
      }
      return next
    })
    return { poll, closed }
  }

  /**
   * Adds, changes or removes one option (`input` undefined: remove); `userId`: only the creator
   * (or a suggestion). Resolves with the option and the poll as changed.
   */
  async option(
    id: string,
    optionId: string | undefined,
    input: Record<string, unknown> | undefined,
    userId?: string,
  ): Promise<{ option: PollOption; poll: Poll }> {
    let out: PollOption | undefined
    const changed = await this.#rewrite(id, (poll) => {
      const suggests = optionId === undefined && input !== undefined && poll.allow_user_suggested_options
      if (userId !== undefined && poll.created_by_id !== userId && !suggests)
        throw notFound(`poll ${id} does not exist`)
      const next = { ...poll, updated_at: new Date().toISOString() }
      if (optionId === undefined) {
        if (poll.options.length >= MAX_OPTIONS)
          throw inputError(`a poll has at most ${MAX_OPTIONS} options`, id, 'options')
        out = option(input, 'option')
        next.options = [...poll.options, out]
        return next
      }
      const found = poll.options.find((o) => o.id === optionId)
      if (!found) throw notFound(`poll ${id} has no option ${optionId}`)
      if (input === undefined) {
        next.options = poll.options.filter((o) => o !== found)
        next.votes = poll.votes.filter((v) => v.option_id !== optionId)
        out = found
      } else {
        out = { ...option(input, 'option'), id: optionId }
        next.options = poll.options.map((o) => (o === found ? (out as PollOption) : o))
      }
      return next
    })
    return { option: out as PollOption, poll: changed }
  }

  /** Deletes a poll; `userId`: only its creator's. Resolves with the poll as it was. */
  async delete(id: string, userId?: string): Promise<Poll> {
    const poll = await this.get(id)
    if (userId !== undefined && poll.created_by_id !== userId) throw notFound(`poll ${id} does not exist`)
    await this.#documents.deleteDocs(KIND, [id])
    return poll
  }

  /**
   * Checks that an activity by `userId` may carry poll `id`: the poll exists and, for a user
   * (undefined: the app, any poll), is its own. Otherwise anyone could hang another's poll on
   * their activities and, past MAX_CARRIERS of them, crowd out the feeds that hear its events.
   */
  async requireCarrier(id: string, userId?: string): Promise<void> {
    const poll = await this.get(id)
    if (userId !== undefined && poll.created_by_id !== userId) throw notAllowed()
  }

  /**
   * Records that activity `activityId` (an engine id) carries poll `id`, so the poll's events
   * reach its feeds; only the latest MAX_CARRIERS are kept. A poll deleted meanwhile is left alone.
   */
  async attach(id: string, activityId: string): Promise<void> {
    await rewriteDoc<Poll>(this.#documents, KIND, id, (poll) => {
      if (!poll) return undefined
      const kept = (poll.activity_ids ?? []).filter((a) => a !== activityId)
      return { ...poll, activity_ids: [...kept, activityId].slice(-MAX_CARRIERS) }
    })
  }

  /** Up to `limit` polls in id order after `after` (QueryPolls scans these). */
  async scan(after: string | undefined, limit: number): Promise<Poll[]> {
    const docs = await this.#documents.listDocs(KIND, after, limit)
    return docs.map((d) => d.data as unknown as Poll)
  }

  /**
   * Casts `userId`'s vote for `optionId` (or an answer), by the poll's rules; resolves with the
   * poll, the vote and the votes it replaced (enforce_unique_vote).
   */
  async vote(id: string, userId: string, input: { option_id?: unknown; answer_text?: unknown }) {
    let vote: PollVote | undefined
    let replaced: PollVote[] = []
    const poll = await this.#rewrite(id, (poll) => {
      if (poll.is_closed) throw inputError(`poll ${id} is closed`, id, 'poll_id')
      const now = new Date().toISOString()
      const mine = poll.votes.filter((v) => v.user_id === userId)
      if (input.answer_text !== undefined) {
        if (!poll.allow_answers)
          throw inputError(`poll ${id} does not take answers`, input.answer_text, 'answer_text')
        const answer = text(input.answer_text, 'answer_text', true)
        replaced = mine.filter((v) => v.is_answer)
        vote = {
          id: randomUUID(),
          user_id: userId,
          option_id: '',
          is_answer: true,
          answer_text: answer,
          created_at: now,
          updated_at: now,
        }
      } else {
        const optionId = input.option_id
        if (typeof optionId !== 'string' || !poll.options.some((o) => o.id === optionId))
          throw inputError(`option_id must name an option of poll ${id}`, optionId, 'option_id')
        const votes = mine.filter((v) => !v.is_answer)
        const same = votes.find((v) => v.option_id === optionId)
        if (same) {
          vote = same
          return undefined
        }
        if (poll.enforce_unique_vote) replaced = votes
        else if (votes.length >= (poll.max_votes_allowed ?? MAX_OPTIONS))
          throw inputError(
            `at most ${poll.max_votes_allowed} votes per user in poll ${id}`,
            optionId,
            'option_id',
          )
        vote = { id: randomUUID(), user_id: userId, option_id: optionId, created_at: now, updated_at: now }
      }
      const kept = poll.votes.filter((v) => !replaced.includes(v))
      if (kept.length >= MAX_VOTES) throw inputError(`poll ${id} holds ${MAX_VOTES} votes`, id, 'poll_id')
      return { ...poll, votes: [...kept, vote] }
    })
    return { poll, vote: vote as PollVote, replaced }
  }

  /** Removes vote `voteId`; `userId`: only that user's own. Resolves with the poll and the vote. */
  async unvote(id: string, voteId: string, userId?: string) {
    let removed: PollVote | undefined
    const poll = await this.#rewrite(id, (poll) => {
      removed = poll.votes.find((v) => v.id === voteId && (userId === undefined || v.user_id === userId))
      if (!removed) throw notFound(`poll ${id} has no vote ${voteId}`)
      return { ...poll, votes: poll.votes.filter((v) => v !== removed) }
    })
    return { poll, vote: removed as PollVote }
  }

  async #rewrite(id: string, change: (poll: Poll) => Poll | undefined): Promise<Poll> {
    const out = await rewriteDoc<Poll>(this.#documents, KIND, id, (poll) => {
      if (!poll) throw notFound(`poll ${id} does not exist`)
      return change(poll)
    })
    return out as Poll
  }
}
