/** Lookups of what an earlier step of the same request loaded. */

/** `map`'s value for `key`, which the caller put there; a missing one is a bug, not bad input. */
export function known<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key)
  if (value === undefined) throw new Error(`internal: ${String(key)} was not loaded`)
  return value
}
