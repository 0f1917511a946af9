/**
 * `buildApp()` wires Chirp together: TypeORM on SQLite with Eddy's model tracking, the embedded
 * Eddy client (its own SQLite file), LiquidJS views and the Fastify routes. Tests call it with
 * `{ inMemory: true }` and use `app.inject()`.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance } from 'fastify'
import { DataSource } from 'typeorm'
import { configure, Enrich, resetSettings } from '../../src/django/index.js'
import { trackDataSource } from '../../src/django/typeorm/index.js'
import { connect, type OgOptions } from '../../src/index.js'
import type { ChirpContext } from './context.js'
import { Chirp, ENTITIES, Follow, Like, User } from './entities.js'
import { FEED_GROUPS } from './feeds.js'
import { authRoutes } from './routes/auth.js'
import { chirpRoutes } from './routes/chirps.js'
import { notificationRoutes } from './routes/notifications.js'
import { profileRoutes } from './routes/profile.js'
import { seed } from './seed.js'
import { sessionHook } from './session.js'
import { createViews, render } from './views.js'

export interface ChirpOptions {
  /** Directory for `chirp.sqlite` (TypeORM) and `feeds.sqlite` (Eddy). */
  dataDir?: string
  /** Keep everything in memory (tests). */
  inMemory?: boolean
  /** Seed demo data when the database has no users. */
  seed?: boolean
  /** Fastify's logger option. */
  logger?: boolean
  /** Link preview settings (the browser test previews pages on loopback: `allowPrivate`). */
  og?: OgOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    chirp: ChirpContext
  }
  interface FastifyRequest {
    me?: User
  }
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url))

/** The cookie-signing secret: `CHIRP_SECRET`, else one kept in the data directory. */
function secret(dataDir: string | undefined): string {
  if (process.env.CHIRP_SECRET) return process.env.CHIRP_SECRET
  if (!dataDir) return randomBytes(24).toString('hex')
  const file = join(dataDir, 'secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 })
  return readFileSync(file, 'utf8').trim()
}

export async function buildApp(options: ChirpOptions = {}): Promise<FastifyInstance> {
  const { dataDir, inMemory = false } = options
  if (!inMemory && !dataDir) throw new Error('buildApp needs a dataDir, or inMemory: true')
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  /** A file in dataDir (asked for only when not inMemory, so dataDir is set). */
  const dataFile = (name: string): string => {
    if (!dataDir) throw new Error('buildApp needs a dataDir, or inMemory: true')
    return join(dataDir, name)
  }

  // Embedded Eddy, and the integration (feed manager, tracking) pointed at it.
  const client = connect({
    store: inMemory ? 'memory' : `sqlite:${dataFile('feeds.sqlite')}`,
    feedGroups: FEED_GROUPS,
    // Pictures go beside feeds.sqlite (eddy-uploads/), or to memory; Chirp serves them at /uploads/.
    uploads: { og: options.og },
  })
  configure({ client })

  const ds = new DataSource({
    type: 'better-sqlite3',
    database: inMemory ? ':memory:' : dataFile('chirp.sqlite'),
    entities: ENTITIES,
    synchronize: true,
  })
  const untrack = trackDataSource(ds)
  await ds.initialize()

  const ctx: ChirpContext = {
    ds,
    client,
    users: ds.getRepository(User),
    chirps: ds.getRepository(Chirp),
    likes: ds.getRepository(Like),
    follows: ds.getRepository(Follow),
    enrich: new Enrich(['actor', 'object', 'target']),
    liquid: createViews(),
  }
  if (options.seed && (await ctx.users.count()) === 0) await seed(ctx)

  const app = Fastify({ logger: options.logger ?? false })
  app.decorate('chirp', ctx)
  app.addHook('onClose', async () => {
    untrack()
    await client.close()
    await ds.destroy()
    await resetSettings()
  })
  await app.register(cookie, { secret: secret(dataDir) })
  await app.register(formbody)
  // The compose form is multipart when it carries a picture: fields as values, the file as a Buffer.
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fileSize: client.uploads.limits.maxImageBytes, files: 1, fields: 10 },
  })
  app.addHook('onRequest', sessionHook(ctx))
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/' })
  // Uploaded pictures, with the headers Eddy gives them (type, caching, no script) and thumbnails.
  app.get('/uploads/*', async (request, reply) => {
    const served = await client.serveUpload(request.url, request.headers['if-none-match'])
    if (served.status === 404)
      return render(
        ctx,
        request,
        reply,
        'missing',
        { title: 'Not found', message: 'That picture is gone.' },
        404,
      )
    return reply.status(served.status).headers(served.headers).send(served.body)
  })
  await app.register(authRoutes)
  await app.register(chirpRoutes)
  await app.register(profileRoutes)
  await app.register(notificationRoutes)
  // Unknown pages get Chirp's own page, not Fastify's JSON.
  app.setNotFoundHandler((request, reply) =>
    render(
      ctx,
      request,
      reply,
      'missing',
      { title: 'Not found', message: `There is no page at ${request.url.split('?')[0]}.` },
      404,
    ),
  )
  return app
}
