/**
 * The memory store's transactions. Each primitive change records its inverse as it happens; a
 * write that throws replays the inverses newest first, which restores every structure exactly.
 * A write therefore costs what it changes, not what it touches: the store used to deep-copy each
 * timeline a write touched (6.3 ms per add into a 5,000-entry feed, measured).
 */

/** Runs writes all-or-nothing by logging the inverse of each change. */
export class UndoLog {
  #steps: (() => void)[] | undefined

  /**
   * Runs `fn` as one transaction: on a throw, every change it recorded is undone (newest first)
   * and the error propagates. Resolves with `fn`'s result and how many inverses it recorded.
   */
  run<T>(fn: () => T): { result: T; records: number } {
    if (this.#steps) throw new Error('memory store: a write started inside another write')
    const steps: (() => void)[] = []
    this.#steps = steps
    try {
      return { result: fn(), records: steps.length }
    } catch (error) {
      for (let i = steps.length - 1; i >= 0; i--) steps[i]()
      throw error
    } finally {
      this.#steps = undefined
    }
  }

  /** Records how to undo a change just made; only inside {@link run}. */
  record(inverse: () => void): void {
    if (!this.#steps) throw new Error('memory store: a change outside a write')
    this.#steps.push(inverse)
  }

  /** Sets `key` of `map` to `value`, recording how to restore what was there. */
  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    const had = map.has(key)
    const before = map.get(key)
    map.set(key, value)
    this.record(had ? () => map.set(key, before as V) : () => map.delete(key))
  }

  /** Deletes `key` of `map` when present, recording how to put it back. */
  delete<K, V>(map: Map<K, V>, key: K): boolean {
    if (!map.has(key)) return false
    const before = map.get(key) as V
    map.delete(key)
    this.record(() => map.set(key, before))
    return true
  }

  /** Sets field `key` of `target`, recording its previous value. */
  assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): void {
    const before = target[key]
    target[key] = value
    this.record(() => {
      target[key] = before
    })
  }
}
