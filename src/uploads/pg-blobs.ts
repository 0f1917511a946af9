/**
 * Uploads in PostgreSQL: one row per upload (metadata as jsonb, bytes as bytea) in
 * `<schema>.eddy_uploads`, shared by every server on the database, with no other service to run.
 * The trade-off against S3 (docs/server.md, Uploads): bytes fill the database, its backups and its
 * WAL, and each read holds a whole upload in memory; fine within the upload size limits and for
 * modest volumes, while S3 suits large ones.
 */
import { createRequire } from 'node:module'
import type { Blob, BlobMeta, BlobStore, UploadKind } from './blobs.js'

interface Pool {
  query(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
}

/** How to reach the database. */
export interface PgBlobsOptions {
  /** `postgres://user@host:5432/db`. */
  connectionString: string
  /** Schema of the table (default `public`); created when missing. */
  schema?: string
  /** Connections (default 4). */
  max?: number
}

function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`not a PostgreSQL identifier: ${name}`)
  return `"${name}"`
}

/** A {@link BlobStore} in a PostgreSQL table. */
export class PgBlobs implements BlobStore {
  readonly name: string
  readonly #pool: Pool
  readonly #table: string
  readonly #schema: string
  #ready: Promise<void> | undefined

  constructor(options: PgBlobsOptions) {
    const url = new URL(options.connectionString)
    this.name = `postgres://${url.host}${url.pathname} (table ${options.schema ?? 'public'}.eddy_uploads)`
    this.#schema = ident(options.schema ?? 'public')
    this.#table = `${this.#schema}.eddy_uploads`
    const pg = createRequire(import.meta.url)('pg') as { Pool: new (c: object) => Pool }
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 4 })
    // An idle connection the server drops must not crash the process; the next query reconnects.
    this.#pool.on('error', () => undefined)
  }

  #migrate(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`)
      await this.#pool.query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (kind text NOT NULL, id uuid NOT NULL, meta jsonb NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (kind, id))`,
      )
    })().catch((error) => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  async put(blob: Blob): Promise<void> {
    await this.#migrate()
    await this.#pool.query(`INSERT INTO ${this.#table} (kind, id, meta, bytes) VALUES ($1, $2, $3, $4)`, [
      blob.meta.kind,
      blob.meta.id,
      JSON.stringify(blob.meta),
      blob.bytes,
    ])
  }

  async get(kind: UploadKind, id: string): Promise<Blob | undefined> {
    await this.#migrate()
    const { rows } = await this.#pool.query(
      `SELECT meta, bytes FROM ${this.#table} WHERE kind = $1 AND id = $2`,
      [kind, id],
    )
    return rows[0] ? { meta: rows[0].meta as BlobMeta, bytes: rows[0].bytes as Buffer } : undefined
  }

  async head(kind: UploadKind, id: string): Promise<BlobMeta | undefined> {
    await this.#migrate()
    const { rows } = await this.#pool.query(`SELECT meta FROM ${this.#table} WHERE kind = $1 AND id = $2`, [
      kind,
      id,
    ])
    return rows[0]?.meta as BlobMeta | undefined
  }

  async delete(kind: UploadKind, id: string): Promise<boolean> {
    await this.#migrate()
    const { rowCount } = await this.#pool.query(`DELETE FROM ${this.#table} WHERE kind = $1 AND id = $2`, [
      kind,
      id,
    ])
    return (rowCount ?? 0) > 0
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }
}
