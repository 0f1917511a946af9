/**
 * One wording for a misspelt option everywhere (public methods, `configure()`, CLI flags): the
 * name, the valid ones and the nearest ("did you mean"), so a typo is never silently a default.
 */
import { EddyError } from './errors.js'

/** Lower case without `_`, `-` or `.`: `with_own_reactions`, `withOwnReactions` and `--with-own` compare alike. */
function fold(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, '')
}

/** Edit distance counting a swap of two neighbours as one edit (`prot` → `port` is 1). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The valid name nearest to `word` (at most a third of its letters off, at least one), or undefined. */
export function closest(word: string, names: readonly string[]): string | undefined {
  const w = fold(word)
  let best: string | undefined
  let bestScore = Math.max(1, Math.floor(w.length / 3)) + 1
  for (const name of names) {
    const n = fold(name)
    // A prefix of a long name (`--meta` for `--metrics-port`) is a good guess too.
    const score = n === w ? 0 : w.length >= 4 && n.startsWith(w) ? 1 : distance(w, n)
    if (score < bestScore) {
      best = name
      bestScore = score
    }
  }
  return best
}

/**
 * `feed.get() has no option "limt"; the options are limit, offset, …; did you mean "limit"?`.
 * `noun` is what the names are (`option`, `setting`, `flag`).
 */
export function unknownOptionMessage(
  where: string,
  key: string,
  names: readonly string[],
  noun = 'option',
): string {
  const guess = closest(key, names)
  const hint = guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`
  return `${where} has no ${noun} ${JSON.stringify(key)}; the ${noun}s are ${names.join(', ')}${hint}`
}

/**
 * Throws an `InputException` for the first own key of `options` that is not one of `names`
 * (keys whose value is `undefined` included: a typo is a typo). Non-objects are left to the caller.
 */
export function checkOptionNames(
  options: unknown,
  names: readonly string[],
  where: string,
  noun = 'option',
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return
  for (const key of Object.keys(options)) {
    if (!names.includes(key)) {
      const detail = unknownOptionMessage(where, key, names, noun)
      throw new EddyError('InputException', detail, { [key]: [detail] })
    }
  }
}
