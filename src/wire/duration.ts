/** Stream's `duration` field, which every v1 response ends with. */

/** Elapsed milliseconds since `startMs` (a `performance.now()` reading) as Stream's Go-style duration. */
export function duration(startMs: number): string {
  return `${(performance.now() - startMs).toFixed(2)}ms`
}

/** `body` with Stream's `duration` added last, measured from `startMs`. */
export function timed<T extends object>(startMs: number, body: T): T & { duration: string } {
  // Object.assign, not a spread: a spread followed by a key costs ~1 us per response on V8 here.
  return Object.assign({}, body, { duration: duration(startMs) })
}

/** Completes a response's JSON head (everything before `duration`, no closing brace) with its duration. */
export function withDurationJson(head: string, startMs: number): string {
  return `${head},"duration":"${duration(startMs)}"}`
}
