/**
 * `client.user(id)` of the embedded client, shaped like getstream's `StreamUser`: `get`, `create`,
 * `update`, `delete`, `getOrCreate`, `profile`, `ref`, with `data` and `full` set as getstream sets
 * them. The rules are the engine's users use cases (engine/users.ts), the same the server serves.
 */
import type { Engine } from '../engine/engine.js'
import type { UserProfile } from '../engine/users.js'
import { duration } from '../wire/duration.js'
import type { APIResponse } from '../wire/responses.js'

/** One user, as getstream's `client.user(id)` gives it. */
export class EddyUser {
  /** The user's id. */
  readonly id: string
  /** The user's data, once read or written. */
  data?: Record<string, unknown>
  /** The whole user object of the last call (no `duration`). */
  full?: UserProfile
  readonly #engine: Engine

  constructor(engine: Engine, id: string) {
    this.#engine = engine
    this.id = id
  }

  /** `SU:<id>`, the reference activities use to name this user. */
  ref(): string {
    return `SU:${this.id}`
  }

  #keep(user: UserProfile): this {
    this.full = { ...user }
    this.data = user.data
    return this
  }

  /** Reads the user (404 when it does not exist); `with_follow_counts` adds its follow counts. */
  async get(options: { with_follow_counts?: boolean } = {}): Promise<this> {
    return this.#keep(
      await this.#engine.users.get(this.id, { withFollowCounts: options.with_follow_counts === true }),
    )
  }

  /** Creates the user (409 when it exists, unless `get_or_create`, which returns it unchanged). */
  async create(data?: Record<string, unknown>, options: { get_or_create?: boolean } = {}): Promise<this> {
    const user = await this.#engine.users.create(this.id, data ?? this.data ?? {}, {
      getOrCreate: options.get_or_create === true,
    })
    return this.#keep(user)
  }

  /** Replaces the user's data (404 when it does not exist). */
  async update(data?: Record<string, unknown>): Promise<this> {
    return this.#keep(await this.#engine.users.update(this.id, data ?? this.data ?? {}))
  }

  /** Creates the user, or returns it unchanged when it exists. */
  getOrCreate(data: Record<string, unknown>): Promise<this> {
    return this.create(data, { get_or_create: true })
  }

  /** Reads the user with its follower and following counts. */
  profile(): Promise<this> {
    return this.get({ with_follow_counts: true })
  }

  /** Deletes the user (404 when it does not exist). */
  async delete(): Promise<APIResponse> {
    const started = performance.now()
    await this.#engine.users.delete(this.id)
    return { duration: duration(started) }
  }
}
