/**
 * The skeleton every store's reaction batch shares (R1 in `../reaction-store.ts`): a batch applies
 * whole when every condition holds, and otherwise leaves nothing behind and reports what failed.
 * Each store supplies only its transaction and its row work; how a refusal unwinds that
 * transaction, and what the caller is told, is written here once.
 */
import type { ReactionWriteResult } from '../reaction-store.js'

/** Thrown inside a batch's transaction so the store undoes it; never escapes {@link writeReactionBatch}. */
class Refused extends Error {}

/** A result before any condition was checked: applied, nothing failed, nothing removed. */
function emptyResult(): ReactionWriteResult {
  return { applied: true, taken: [], orphaned: [], stale: [], removed: [] }
}

/**
 * Runs one reaction batch. `transact` runs the batch in the store's transaction: inside it, it
 * calls `start()` for the result to fill (again on every retried attempt, so a retry starts
 * over), applies the rows, then calls {@link refuseIfConditionsFailed} before anything that must
 * not happen for a refused batch (audit rows). A refused batch answers `applied: false` with the
 * failed ids and no removals; any other error propagates.
 */
export async function writeReactionBatch(
  transact: (start: () => ReactionWriteResult) => unknown,
): Promise<ReactionWriteResult> {
  let result = emptyResult()
  const start = () => {
    result = emptyResult()
    return result
  }
  try {
    await transact(start)
  } catch (error) {
    if (!(error instanceof Refused)) throw error
    return { ...result, applied: false, removed: [] }
  }
  return result
}

/** Throws (inside the batch's transaction) to undo the batch when an insert, update or removal was refused. */
export function refuseIfConditionsFailed(result: ReactionWriteResult): void {
  if (result.taken.length + result.orphaned.length + result.stale.length > 0) throw new Refused()
}
