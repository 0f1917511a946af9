/** How `eddy` prints where its data is: exact enough to find it, with no credentials. */
import { parseStoreSpec, shownSpec } from '../client/store-spec.js'
import { blobsLocation } from '../uploads/index.js'
import { shownRedis } from './scale-out.js'

/**
 * A store spec as it may be printed: a SQLite file as the absolute path it opens (whichever form
 * named it), a PostgreSQL URL without user and password but with its `?schema=`.
 */
export function shownStore(store: string): string {
  if (!/^postgres(ql)?:\/\//i.test(store)) {
    try {
      const spec = parseStoreSpec(store)
      return spec.kind === 'sqlite' ? `sqlite:${spec.path}` : store
    } catch {
      return shownSpec(store)
    }
  }
  try {
    const u = new URL(store)
    // The schema is part of where the data is; other parameters may hold secrets.
    const schema = u.searchParams.get('schema')
    const query = schema === null ? '' : `?schema=${encodeURIComponent(schema)}`
    return `postgres://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}${query}`
  } catch {
    return 'postgres://<not a valid URL>'
  }
}

/** `eddy serve`'s first line: the API's URL, the store, and where timelines and queue workers are. */
export function servingLine(
  url: string,
  store: string,
  scale: { timelines?: string; workers?: number },
): string {
  const timelines = scale.timelines ? `, timelines on ${shownRedis(scale.timelines)}` : ''
  const workers =
    scale.workers === undefined ? '' : `, ${scale.workers} queue worker${scale.workers === 1 ? '' : 's'}`
  return `eddy serving ${url}v1.0/ on ${shownStore(store)}${timelines}${workers}`
}

/**
 * `eddy serve`'s line about uploads: where their bytes live (a directory as its absolute path, a
 * PostgreSQL database as `shownStore` prints it, an S3 bucket and endpoint), and where they are served.
 */
export function uploadsLine(
  location: string | undefined,
  store: string,
  publicUrl: string | undefined,
): string {
  const where = blobsLocation(location, store)
  const shown = where.startsWith('postgres') ? `${shownStore(where)} (table eddy_uploads)` : where
  const base = publicUrl === undefined ? "http://<the request's Host>/" : publicUrl.replace(/\/?$/, '/')
  return `uploads: ${shown}, served at ${base}uploads/`
}
