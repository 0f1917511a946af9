/** Eddy's version, read from its package.json (one level above both src/ and dist/). */
import { readFileSync } from 'node:fs'

/** The installed Eddy's version, e.g. `0.1.0`. */
export const version: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version
