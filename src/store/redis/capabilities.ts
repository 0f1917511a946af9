/**
 * What PostgreSQL with timelines in Redis can do, without loading it (`presets.ts` states it
 * before ioredis and pg are loaded). Calls wait on the network; a chunk is a few PostgreSQL round
 * trips plus one Lua call per bucket, and 2,000 followers keep each call's hold on Redis's single
 * thread to a few ms.
 */
import { POSTGRES_CAPABILITIES } from '../postgres/capabilities.js'
import type { Capabilities } from '../store.js'

/** What the Redis timelines part changes in the PostgreSQL store's capabilities. */
export const REDIS_CAPABILITIES: Partial<Capabilities> = { fanoutChunkSize: 2_000 }

/** The capabilities of PostgreSQL with timelines in Redis. */
export const POSTGRES_REDIS_CAPABILITIES: Partial<Capabilities> = {
  ...POSTGRES_CAPABILITIES,
  ...REDIS_CAPABILITIES,
}
