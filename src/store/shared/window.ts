/** The page window every store's list reads accept, checked the same way everywhere. */

/**
 * Throws unless `limit` and `offset` are non-negative safe integers. The engine bounds them
 * before they reach a store; this guards the seam itself, since SQL stores write them into
 * statement text or bind them where a bad value would otherwise mean an engine-specific error.
 */
export function checkWindow(limit: number, offset: number): void {
  if (!Number.isSafeInteger(limit) || !Number.isSafeInteger(offset) || limit < 0 || offset < 0) {
    throw new Error(`limit and offset must be non-negative integers, got ${limit} and ${offset}`)
  }
}
