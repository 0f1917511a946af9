/**
 * Uploads in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...), shared by every server
 * that points at the same bucket and prefix. One object per upload: the bytes, with the metadata
 * as base64url JSON in the object's user metadata, so a read or an ownership check is one request.
 */
import type { Blob, BlobMeta, BlobStore, UploadKind } from './blobs.js'

type S3Module = typeof import('@aws-sdk/client-s3')
type S3Client = InstanceType<S3Module['S3Client']>

/** Loads the AWS SDK on first use (it is not a dependency of Eddy: install it to use S3). */
async function loadS3(): Promise<S3Module> {
  try {
    return await import('@aws-sdk/client-s3')
  } catch (error) {
    throw new Error(
      's3:// uploads need the @aws-sdk/client-s3 package: run `npm install @aws-sdk/client-s3`',
      {
        cause: error,
      },
    )
  }
}

/** Where and how to reach the bucket. */
export interface S3BlobsOptions {
  bucket: string
  /** Key prefix, e.g. `eddy/uploads/` (default none). */
  prefix?: string
  /** Endpoint of an S3-compatible service, e.g. `http://127.0.0.1:9000` (default AWS). */
  endpoint?: string
  /** Default `us-east-1`. */
  region?: string
  /** Bucket in the path (`host/bucket/key`), as MinIO and most self-hosted services need. */
  forcePathStyle?: boolean
  /** Default: the AWS SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

/**
 * `s3://bucket/prefix?endpoint=http://host:9000&region=eu-west-1&path_style=true` as options;
 * credentials come from the environment, never from the URL (it ends up in logs and process lists).
 */
export function parseS3Spec(spec: string): S3BlobsOptions {
  const url = new URL(spec)
  if (url.username || url.password)
    throw new Error('an s3:// location takes no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
  const prefix = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const pathStyle = url.searchParams.get('path_style')
  return {
    bucket: url.hostname,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    endpoint: url.searchParams.get('endpoint') ?? undefined,
    region: url.searchParams.get('region') ?? undefined,
    forcePathStyle: pathStyle === null ? undefined : pathStyle === 'true' || pathStyle === '1',
  }
}

/** A {@link BlobStore} in an S3 bucket. */
export class S3Blobs implements BlobStore {
  readonly name: string
  readonly #s3: Promise<{ sdk: S3Module; client: S3Client }>
  readonly #bucket: string
  readonly #prefix: string

  constructor(options: S3BlobsOptions) {
    this.#bucket = options.bucket
    this.#prefix = options.prefix ?? ''
    this.name = `s3://${options.bucket}/${this.#prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`
    this.#s3 = loadS3().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: options.region ?? 'us-east-1',
        endpoint: options.endpoint,
        forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
        credentials: options.credentials,
      }),
    }))
    // A missing SDK is reported by the first call, not as an unhandled rejection now.
    this.#s3.catch(() => undefined)
  }

  #key(kind: UploadKind, id: string): string {
    return `${this.#prefix}${kind}/${id}`
  }

  async put(blob: Blob): Promise<void> {
    const { sdk, client } = await this.#s3
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(blob.meta.kind, blob.meta.id),
        Body: blob.bytes,
        ContentType: 'application/octet-stream',
        Metadata: { eddy: Buffer.from(JSON.stringify(blob.meta)).toString('base64url') },
      }),
    )
  }

  async get(kind: UploadKind, id: string): Promise<Blob | undefined> {
    const { sdk, client } = await this.#s3
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(kind, id) }),
      )
      const meta = decodeMeta(out.Metadata)
      if (!meta || !out.Body) return undefined
      return { meta, bytes: Buffer.from(await out.Body.transformToByteArray()) }
    } catch (error) {
      return absent(error)
    }
  }

  async head(kind: UploadKind, id: string): Promise<BlobMeta | undefined> {
    const { sdk, client } = await this.#s3
    try {
      const out = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(kind, id) }),
      )
      return decodeMeta(out.Metadata)
    } catch (error) {
      return absent(error)
    }
  }

  async delete(kind: UploadKind, id: string): Promise<boolean> {
    // S3's DELETE succeeds for a missing key, so whether it was there is asked first. Two
    // concurrent deletes may then both answer 200; the object is gone either way.
    if (!(await this.head(kind, id))) return false
    const { sdk, client } = await this.#s3
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(kind, id) }))
    return true
  }

  async close(): Promise<void> {
    const s3 = await this.#s3.catch(() => undefined)
    s3?.client.destroy()
  }
}

function decodeMeta(metadata: Record<string, string> | undefined): BlobMeta | undefined {
  const text = metadata?.eddy
  if (!text) return undefined
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as BlobMeta
}

function absent(error: unknown): undefined {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404)
    return undefined
  throw error
}
