/** What every route needs: the database, the embedded Eddy client and the template engine. */
import type { Liquid } from 'liquidjs'
import type { DataSource, Repository } from 'typeorm'
import type { Enrich } from '../../src/django/index.js'
import type { EddyClient } from '../../src/index.js'
import type { Chirp, Follow, Like, User } from './entities.js'

export interface ChirpContext {
  ds: DataSource
  /** The embedded Eddy client; also the integration's configured client. */
  client: EddyClient
  users: Repository<User>
  chirps: Repository<Chirp>
  likes: Repository<Like>
  follows: Repository<Follow>
  /** Resolves `actor`, `object` and `target` references: one query per model per page. */
  enrich: Enrich
  liquid: Liquid
}

/** A problem with what the user asked for: shown to them, nothing changed. */
export class UserError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'UserError'
  }
}
