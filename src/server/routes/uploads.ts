/**
 * Stream's uploads: `POST files/` and `images/` (multipart, field `file`), `DELETE files/?url=` and
 * `images/?url=`, `GET images/?url=&w=&h=&crop=&resize=`, and the upload URLs themselves
 * (`GET /uploads/<kind>/<id>/<name>`, with an image's resize parameters), which need no token:
 * like Stream's CDN links, the random id in the URL is what grants the read.
 */
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { inputError, notFound } from '../../engine/errors.js'
import type { UploadKind } from '../../uploads/blobs.js'
import { type Actor, maxBytes, tooLarge, type Uploads } from '../../uploads/uploads.js'
import { type Principal, userOf } from '../auth.js'
import { qstr, route, type ServerContext, timed } from '../context.js'
import * as schema from '../schemas/uploads.js'
import { dropRest, type UploadBudget, uploadBudgetError } from '../upload-budget.js'
import type { UploadQuota } from '../upload-quota.js'

/** What the upload routes need beyond the context. */
export interface UploadRouteOptions {
  uploads: Uploads
  /** The start of upload URLs; default the request's own `http://<Host>/`. */
  publicUrl?: string
  budget: UploadBudget
  bodyLimit: number
  /** Bytes per user per window (undefined: no quota). */
  quota?: UploadQuota
}

// Room for the multipart envelope around the file (boundaries, part headers).
const ENVELOPE = 64 * 1024
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The base of upload URLs for this request. */
function baseUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl
  const host = request.headers.host
  // A Host that is not a host name is not echoed into URLs.
  return `${request.protocol}://${host && HOST.test(host) ? host : '127.0.0.1'}/`
}

/** Reads the one `file` part of a multipart upload of `kind`, within its size limit. */
async function readFile(
  request: FastifyRequest,
  kind: UploadKind,
  max: number,
): Promise<{ bytes: Buffer; name?: string }> {
  if (!request.isMultipart())
    throw inputError(
      'an upload must be multipart/form-data with the file in the field "file"',
      request.headers['content-type'],
      'file',
    )
  const part = await request.file({
    limits: { fileSize: max, files: 1, fields: 8, fieldSize: 1024, parts: 16, headerPairs: 64 },
  })
  if (!part) throw inputError('the form has no file; send it in the field "file"', undefined, 'file')
  if (part.fieldname !== 'file')
    throw inputError('the file must be sent in the field "file"', part.fieldname, 'file')
  let bytes: Buffer
  try {
    bytes = await part.toBuffer()
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(kind, max)
    throw error
  }
  return { bytes, name: part.filename }
}

/** Registers files/, images/ and the upload URLs. */
export function uploadRoutes(app: FastifyInstance, ctx: ServerContext, options: UploadRouteOptions): void {
  const { uploads } = options
  app.register(async (scope) => {
    await scope.register(multipart)
    for (const kind of ['files', 'images'] as const) {
      const max = maxBytes(uploads.limits, kind)
      const url = `/api/v1.0/${kind}/`
      // Bodies over the JSON limit pass the server-wide hook unmetered: they are metered here.
      scope.addHook('preParsing', (request, reply, payload, done) => {
        if (request.routeOptions.url !== url || request.method !== 'POST') return done(null, payload)
        const length = Number(request.headers['content-length'])
        if (!Number.isFinite(length) || length <= options.bodyLimit) return done(null, payload)
        if (length > max + ENVELOPE) {
          dropRest(request.raw, reply.raw)
          return done(tooLarge(kind, max))
        }
        if (options.budget.open(request.raw, reply.raw) === null) {
          dropRest(request.raw, reply.raw)
          return done(uploadBudgetError(options.budget.limit))
        }
        done(null, payload)
      })
      const resource = kind
      route(
        scope,
        ctx,
        { method: 'POST', url, resource, feedOf: star, schema: schema.upload(kind) },
        async ({ principal, request, reply }) => {
          const started = performance.now()
          const user = userOf(principal)
          if (user !== undefined) await options.quota?.check(reply, user)
          const { bytes, name } = await readFile(request, kind, max)
          if (user !== undefined) await options.quota?.take(reply, user, bytes.length)
          const path = await uploads.upload(kind, bytes, name, actorOf(principal, request))
          return timed(started, { file: baseUrl(request, options.publicUrl) + path })
        },
      )
      route(
        scope,
        ctx,
        { method: 'DELETE', url, resource, feedOf: star, schema: schema.deleteUpload(kind) },
        async ({ principal, query }) => {
          const started = performance.now()
          await uploads.delete(kind, qstr(query, 'url'), { userId: userOf(principal) })
          return timed(started, {})
        },
      )
    }
    route(
      scope,
      ctx,
      {
        method: 'GET',
        url: '/api/v1.0/images/',
        resource: 'images',
        feedOf: star,
        schema: schema.processImage,
      },
      async ({ principal, query, request }) => {
        const started = performance.now()
        const params: Record<string, unknown> = {}
        for (const name of ['w', 'h', 'crop', 'resize']) params[name] = qstr(query, name)
        const path = await uploads.process(qstr(query, 'url'), params, actorOf(principal, request))
        return timed(started, { file: baseUrl(request, options.publicUrl) + path })
      },
    )
    scope.get('/uploads/:kind/:id/:name', { schema: schema.serveUpload }, async (request, reply) => {
      const { kind, id, name } = request.params as Record<string, string>
      const query: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(request.query as Record<string, unknown>)) {
        if (Array.isArray(v)) throw inputError(`query parameter ${k} must be given once`, v, k)
        query[k] = v
      }
      const served = await uploads.serve(
        kind,
        id,
        name,
        query,
        request.headers['if-none-match'],
        `ip:${request.ip}`,
      )
      if (served.status === 404) throw notFound('no upload at this URL (deleted, or never uploaded)')
      reply.status(served.status).headers(served.headers)
      return served.body === undefined ? reply.send() : reply.send(served.body)
    })
  })
}

/** Who acts, and whom the render queue is fair to: the user, or a server token's address. */
function actorOf(principal: Principal, request: FastifyRequest): Actor {
  const userId = userOf(principal)
  return userId === undefined ? { caller: `ip:${request.ip}` } : { userId }
}

function star(): string {
  return '*'
}
