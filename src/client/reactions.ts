/**
 * `client.reactions` and `client.auditLogs` of the embedded client, shaped like the official
 * `getstream` client's `StreamReaction` and `StreamAuditLogs`: same names, arguments and results,
 * with the engine's semantics (the embedded client is trusted, like a server token: it names the
 * reacting user with `userId`).
 */
import type { AuditLogOptions, AuditLogPage } from '../engine/audit.js'
import type { Engine } from '../engine/engine.js'
import { inputError } from '../engine/errors.js'
import { checkOptionNames } from '../engine/option-names.js'
import {
  REACTION_FILTER_OPTIONS,
  type ReactionFilterOptions,
  type ReactionPage,
} from '../engine/reaction-filter.js'
import type { Reaction } from '../engine/reaction-model.js'
import { duration } from '../wire/duration.js'
import { streamLinks } from '../wire/links.js'
import type { APIResponse } from '../wire/responses.js'

/** A target feed: a feed id like `notification:bob`, or a feed handle (its `id` is used). */
export type TargetFeed = string | { id: string }

/** Options of `reactions.add` and `reactions.addChild`. */
export interface ReactionAddOptions {
  /** The reaction's id (default: a new one); a taken id is a 409. */
  id?: string
  /** Feeds that also get the reaction as an activity. */
  targetFeeds?: TargetFeed[]
  /** Fields added to that activity. */
  targetFeedsExtraData?: Record<string, unknown>
  /** Who reacts (required: the embedded client acts for any user, like a server token). */
  userId?: string
}

/** Options of `reactions.update`. */
export interface ReactionUpdateOptions {
  /** The feeds the reaction's activity should be in now (missing: none). */
  targetFeeds?: TargetFeed[]
  targetFeedsExtraData?: Record<string, unknown>
}

const ADD_OPTIONS = Object.keys({
  id: true,
  targetFeeds: true,
  targetFeedsExtraData: true,
  userId: true,
} satisfies Record<keyof ReactionAddOptions, true>)
const CHILD_OPTIONS = ADD_OPTIONS.filter((name) => name !== 'id')
const UPDATE_OPTIONS = Object.keys({
  targetFeeds: true,
  targetFeedsExtraData: true,
} satisfies Record<keyof ReactionUpdateOptions, true>)
const AUDIT_LOG_OPTIONS = Object.keys({
  entity_type: true,
  entity_id: true,
  user_id: true,
  limit: true,
  next: true,
  prev: true,
} satisfies Record<keyof AuditLogOptions, true>)

function feedIds(feeds: TargetFeed[] | undefined): unknown {
  if (feeds === undefined) return []
  if (!Array.isArray(feeds)) return feeds // the engine names the mistake
  return feeds.map((f) => (f !== null && typeof f === 'object' && typeof f.id === 'string' ? f.id : f))
}

function idOf(value: string | { id: string }, field: string): string {
  const id = value !== null && typeof value === 'object' ? value.id : value
  if (typeof id !== 'string' || id === '')
    throw inputError(`${field} must be an id or an object with id`, value, field)
  return id
}

/** Reactions of the embedded client (`client.reactions`). */
export class EddyReactions {
  readonly #engine: Engine

  constructor(engine: Engine) {
    this.#engine = engine
  }

  /** Adds a reaction of `kind` to an activity (its id, or an object with `id`). */
  async add(
    kind: string,
    activity: string | { id: string },
    data?: Record<string, unknown>,
    options: ReactionAddOptions = {},
  ): Promise<Reaction & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, ADD_OPTIONS, 'reactions.add()')
    const reaction = await this.#engine.reactions.add({
      id: options?.id,
      activity_id: idOf(activity, 'activity'),
      kind,
      data: data ?? {},
      target_feeds: feedIds(options?.targetFeeds),
      target_feeds_extra_data: options?.targetFeedsExtraData,
      user_id: options?.userId,
    })
    return { ...reaction, duration: duration(started) }
  }

  /** Adds a reaction of `kind` to a reaction (its id, or an object with `id`), up to 3 levels deep. */
  async addChild(
    kind: string,
    reaction: string | { id: string },
    data?: Record<string, unknown>,
    options: Omit<ReactionAddOptions, 'id'> = {},
  ): Promise<Reaction & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, CHILD_OPTIONS, 'reactions.addChild()')
    const child = await this.#engine.reactions.add({
      parent: idOf(reaction, 'reaction'),
      kind,
      data: data ?? {},
      target_feeds: feedIds(options?.targetFeeds),
      target_feeds_extra_data: options?.targetFeedsExtraData,
      user_id: options?.userId,
    })
    return { ...child, duration: duration(started) }
  }

  /** A reaction with its user, children counts and newest children. */
  async get(id: string): Promise<Reaction & APIResponse> {
    const started = performance.now()
    return { ...(await this.#engine.reactions.get(id)), duration: duration(started) }
  }

  /**
   * A page of reactions by `activity_id`, `user_id` or `reaction_id` (exactly one), optionally of
   * one `kind`, with `limit` (10, at most 25) and `id_lt`/`id_lte`/`id_gt`/`id_gte` cursors.
   */
  async filter(conditions: ReactionFilterOptions): Promise<ReactionPage & APIResponse> {
    const started = performance.now()
    checkOptionNames(conditions, REACTION_FILTER_OPTIONS, 'reactions.filter()')
    return {
      ...(await this.#engine.reactions.filter(conditions, undefined, streamLinks())),
      duration: duration(started),
    }
  }

  /** Replaces the reaction's data and target feeds (those not listed lose its activity). */
  async update(
    id: string,
    data?: Record<string, unknown>,
    options: ReactionUpdateOptions = {},
  ): Promise<Reaction & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, UPDATE_OPTIONS, 'reactions.update()')
    const reaction = await this.#engine.reactions.update(id, {
      data,
      target_feeds: feedIds(options?.targetFeeds),
      target_feeds_extra_data: options?.targetFeedsExtraData,
    })
    return { ...reaction, duration: duration(started) }
  }

  /** Deletes a reaction and its children; `soft` keeps it, hidden, for `restore`. */
  async delete(id: string, soft = false): Promise<APIResponse> {
    const started = performance.now()
    await this.#engine.reactions.delete(id, soft === true)
    return { duration: duration(started) }
  }

  /** Brings back a soft-deleted reaction. */
  async restore(id: string): Promise<APIResponse> {
    const started = performance.now()
    await this.#engine.reactions.restore(id)
    return { duration: duration(started) }
  }
}

/** The audit log of the embedded client (`client.auditLogs`). */
export class EddyAuditLogs {
  readonly #engine: Engine

  constructor(engine: Engine) {
    this.#engine = engine
  }

  /** Entries newest first, by `entity_type` + `entity_id` and/or `user_id`; `next`/`prev` page. */
  async filter(options: AuditLogOptions = {}): Promise<AuditLogPage & APIResponse> {
    const started = performance.now()
    checkOptionNames(options, AUDIT_LOG_OPTIONS, 'auditLogs.filter()')
    return { ...(await this.#engine.auditLogs(options)), duration: duration(started) }
  }
}
