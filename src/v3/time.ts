/** Timestamps on the V3 wire: RFC 3339 in UTC with a `Z`, from the engine's zone-less UTC times. */

/** `2026-12-07T03:40:32.123456` (the engine's form, UTC) or any ISO time, as RFC 3339 with `Z`. */
export function rfc3339(time: string): string {
  return /[zZ]|[+-]\d\d:?\d\d$/.test(time) ? time : `${time}Z`
}
