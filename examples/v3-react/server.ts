/**
 * `examples/v3-react`: Stream's Feeds V3 React SDK (@stream-io/feeds-react-sdk, page.js) served on
 * its own origin against an Eddy server on another, as a browser app calls Stream (CORS, the V3
 * WebSocket). The page is bundled with esbuild at start; the server side uses @stream-io/node-sdk
 * pointed at Eddy (`basePath`). Run: `node --conditions=eddy-source --import tsx
 * examples/v3-react/server.ts`, then open the addresses it prints (?user=alice and ?user=bob).
 * The page listens on PORT (default 3000) and the Eddy API on API_PORT (default 8000), or free
 * ports when those are taken.
 */
import type { AddressInfo } from 'node:net'
import { StreamClient } from '@stream-io/node-sdk'
import { createServer } from 'eddy/server'
import { build } from 'esbuild'
import Fastify, { type FastifyInstance } from 'fastify'
import { type ListenSpec, listen, orExit } from '../listen.js'

const KEY = 'v3-react-key'
const SECRET = 'v3-react-secret-v3-react-secret'

const HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Eddy + Stream Feeds V3 React SDK</title>
<style>
body{font-family:sans-serif;max-width:640px;margin:1rem auto;padding:0 1rem}
.bar{margin-bottom:1rem}
.composer{display:flex;gap:.5rem;margin-bottom:1rem}
.composer textarea{flex:1;min-height:3rem}
.post{border:1px solid #ddd;border-radius:6px;padding:.5rem .75rem;margin-bottom:.75rem}
.post .text{margin:.25rem 0}
.like[aria-pressed=true]{color:#c00}
.comments ul{list-style:none;padding-left:.5rem;margin:.25rem 0}
.comments form{display:flex;gap:.5rem}
.comments input{flex:1}
</style>
</head>
<body><div id="root"></div><script src="/page.js"></script></body>
</html>`

/** The running example: the Eddy API and the page server, with their origins. */
export interface V3React {
  api: FastifyInstance
  page: FastifyInstance
  apiOrigin: string
  pageOrigin: string
  /** The app's server-side client (@stream-io/node-sdk on Eddy). */
  server: StreamClient
  /** Makes `follower`'s timeline follow `followed`'s user feed (both set up first). */
  follow(follower: string, followed: string): Promise<void>
  close(): Promise<void>
}

/** Bundles page.js for browsers (React 17, the Feeds V3 React SDK and its client). */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./page.js', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  })
  const [output] = result.outputFiles
  if (!output) throw new Error('esbuild produced no bundle for examples/v3-react/page.js')
  return output.text
}

/** Listens on a port, or as a {@link ListenSpec} says (an environment variable, else a default or a free port). */
function listenOn(app: FastifyInstance, port: number | ListenSpec | undefined): Promise<string> {
  return typeof port === 'object' ? listen(app, port) : app.listen({ port: port ?? 0, host: '127.0.0.1' })
}

/** Starts the Eddy API and the page server (port 0 or none: free ports). */
export async function startV3React(
  options: { apiPort?: number | ListenSpec; pagePort?: number | ListenSpec } = {},
): Promise<V3React> {
  const script = await bundle()
  const api = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
  await listenOn(api, options.apiPort)
  const apiOrigin = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`
  // The server SDK on Eddy: basePath is the server's root (the SDK adds /api/v2/...).
  const server = new StreamClient(KEY, SECRET, { basePath: apiOrigin })

  /** The user, their public user feed and their timeline, which follows it (their own posts show). */
  const ready = new Map<string, Promise<void>>()
  const setUp = (user: string): Promise<void> => {
    let done = ready.get(user)
    if (!done) {
      done = (async () => {
        await server.upsertUsers([{ id: user, name: user }])
        await server.feeds.feed('user', user).getOrCreate({ user_id: user, data: { visibility: 'public' } })
        await server.feeds.feed('timeline', user).getOrCreate({ user_id: user })
        await server.feeds.getOrCreateFollows({
          follows: [{ source: `timeline:${user}`, target: `user:${user}` }],
        })
      })()
      // A failed set-up is tried again on the next call.
      done.catch(() => ready.delete(user))
      ready.set(user, done)
    }
    return done
  }
  const follow = async (follower: string, followed: string) => {
    await Promise.all([setUp(follower), setUp(followed)])
    await server.feeds.getOrCreateFollows({
      follows: [{ source: `timeline:${follower}`, target: `user:${followed}` }],
    })
  }

  const page = Fastify()
  page.get('/', (_req, reply) => reply.type('text/html').send(HTML))
  page.get('/page.js', (_req, reply) => reply.type('text/javascript').send(script))
  page.get('/favicon.ico', (_req, reply) => reply.code(204).send())
  // A real app issues the token after its own sign-in; the example trusts the name in the URL.
  page.get('/config', async (request, reply) => {
    const user = String((request.query as { user?: string }).user ?? '')
    if (!/^[\w-]{1,64}$/.test(user))
      return reply.code(400).send({ error: 'A name is 1 to 64 letters, digits, _ or -.' })
    await setUp(user)
    return {
      apiKey: KEY,
      token: server.generateUserToken({ user_id: user }),
      userId: user,
      baseUrl: apiOrigin,
    }
  })
  await listenOn(page, options.pagePort)
  const pageOrigin = `http://127.0.0.1:${(page.server.address() as AddressInfo).port}`
  return {
    api,
    page,
    apiOrigin,
    pageOrigin,
    server,
    follow,
    async close() {
      await page.close()
      await api.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = '127.0.0.1'
  const app = await orExit(
    startV3React({
      apiPort: { name: 'v3-react API', variable: 'API_PORT', defaultPort: 8000, host },
      pagePort: { name: 'v3-react', variable: 'PORT', defaultPort: 3000, host },
    }),
  )
  // Everyone follows everyone in this demo, so two windows see each other's posts.
  await app.follow('alice', 'bob')
  await app.follow('bob', 'alice')
  process.stdout.write(
    `open ${app.pageOrigin}/?user=alice and ${app.pageOrigin}/?user=bob (API ${app.apiOrigin})\n`,
  )
}
