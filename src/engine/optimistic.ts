/**
 * Optimistic read-modify-writes: read, decide, write with `expect`; when another request or
 * process changed the activity in between, the store applies nothing and throws WriteConflict,
 * and the whole step runs again from a fresh read. Nothing is held across calls, so a crashed
 * writer blocks nobody.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { WriteConflict } from '../store/store.js'
import { EddyError } from './errors.js'

/**
 * Attempts before giving up with a 409. Each attempt is one read and one short write; even 16
 * clients in two processes updating one activity settle in a handful (measured by the lost-update
 * test), so this bound only stops a pathological livelock.
 */
const MAX_ATTEMPTS = 200

/** Runs `step` until its write commits without a conflict; rethrows any other error. */
export async function untilCommitted<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error
      if (attempt >= MAX_ATTEMPTS) {
        throw new EddyError(
          'ConflictException',
          `activity ${error.sk} kept changing while it was being updated (${attempt} attempts); try again`,
        )
      }
      // Jittered backoff, growing to a few ms: competing writers in other processes spread out.
      await sleep(Math.random() * Math.min(2 ** attempt, 20))
    }
  }
}
