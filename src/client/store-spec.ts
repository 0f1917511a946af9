/**
 * The `store` string of `connect()`, `createServer()` and `eddy serve|worker --store`, parsed in one
 * place. People write SQLite locations the way other tools taught them (`sqlite://feeds.db` from
 * database URLs, `file:` from Prisma and SQLite's own URIs), so each such form opens the file the
 * writer means, and anything else is refused with the forms that work: never a file in `/` or
 * another directory nobody named.
 */
import { homedir } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import { inputError } from '../engine/errors.js'

/** What a store string names: an in-memory store, a SQLite file (absolute, or `:memory:`), or PostgreSQL. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }

/** The forms every refusal lists. */
export const STORE_FORMS =
  "'memory', 'sqlite:feeds.db' (relative to the working directory; also 'sqlite:./data/feeds.db', " +
  "'sqlite:///abs/path/feeds.db', 'file:feeds.db', 'sqlite::memory:') or 'postgres://user@host:5432/database'"

/** A store string as it may be shown: credentials in a URL are hidden. */
export function shownSpec(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1<hidden>@')
}

function refuse(why: string, value: unknown): never {
  throw inputError(
    `store: ${why}; the forms that work are ${STORE_FORMS}`,
    typeof value === 'string' ? shownSpec(value) : value,
    'store',
  )
}

/**
 * The file a `sqlite:` or `file:` location names, absolute (`:memory:` stays as it is). After the
 * scheme: a plain path (`feeds.db`, `./feeds.db`, `/abs/feeds.db`, `~/feeds.db`), or `//` then a path,
 * where an empty or `localhost` host means an absolute path (`sqlite:///abs/feeds.db`, as in `file:`
 * URLs) and anything else is the first segment of a relative one (`sqlite://feeds.db`,
 * `sqlite://./data/feeds.db`): nobody means a host for a local file.
 */
function sqlitePath(rest: string, value: string, cwd: string): string {
  let path = rest
  let url = false
  if (path.startsWith('//')) {
    url = true
    path = path.slice(2)
    if (path.startsWith('localhost/')) path = path.slice('localhost'.length)
    else if (!path.startsWith('/') && !path.startsWith(':memory:')) path = `./${path}`
  }
  if (path === '' || path === './') refuse('no SQLite file named', value)
  if (/[?#]/.test(path))
    refuse(
      "a '?' or '#': SQLite URI parameters are not read (use openSqliteStore(path, options) for settings)",
      value,
    )
  if (url || /%[0-9a-f]{2}/i.test(path)) {
    try {
      path = decodeURIComponent(path)
    } catch {
      refuse('a malformed %-escape', value)
    }
  }
  if (path === ':memory:') return path
  if (path === '~' || path.startsWith('~/')) path = homedir() + path.slice(1)
  if (path.endsWith('/')) refuse('a directory, not a SQLite file', value)
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path)
}

/**
 * Parses a store string; throws an `InputException` that lists the working forms for anything it
 * does not understand (a bare path, another scheme, an empty location).
 */
export function parseStoreSpec(value: unknown, cwd: string = process.cwd()): StoreSpec {
  if (typeof value !== 'string') refuse('neither a string nor a Store', value)
  if (value === 'memory') return { kind: 'memory' }
  if (/^postgres(ql)?:\/\/./i.test(value)) return { kind: 'postgres', url: value }
  const scheme = /^(sqlite|file):/i.exec(value)
  if (scheme) return { kind: 'sqlite', path: sqlitePath(value.slice(scheme[0].length), value, cwd) }
  if (value === ':memory:') refuse("':memory:' needs its scheme ('sqlite::memory:', or 'memory')", value)
  if (/^sqlite3:/i.test(value)) refuse("'sqlite3:' is spelt 'sqlite:'", value)
  if (/^(redis|rediss|redis-cluster):/i.test(value))
    refuse('a Redis URL: Redis holds timelines (the `timelines` option), PostgreSQL the rest', value)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) refuse('a scheme Eddy does not know', value)
  if (value === '') refuse('empty', value)
  refuse(`a path needs its scheme, e.g. 'sqlite:${value}'`, value)
}

/** The directory a store keeps its files in (`eddy serve` saves its keys there), or none. */
export function storeDirectory(spec: StoreSpec): string | undefined {
  if (spec.kind !== 'sqlite' || spec.path === ':memory:') return undefined
  return resolve(spec.path, '..')
}
