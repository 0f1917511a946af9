/**
 * What the PostgreSQL store can do, without loading it (`presets.ts` states it before `pg` is
 * loaded). Calls wait on the network, not the thread; a chunk is a fixed number of round trips
 * and a commit, so larger chunks deliver faster (bench: 10,000 followers in 113–330 ms at 10,000).
 */
import type { Capabilities } from '../store.js'

/** The PostgreSQL store's capabilities (a timelines part may change them: `eddy/redis`). */
export const POSTGRES_CAPABILITIES: Partial<Capabilities> = { blocksEventLoop: false, fanoutChunkSize: 5_000 }
