/**
 * `examples/react-feed`: GetStream's React components (page.js) served on their own origin against
 * an Eddy server on another, as a browser app calls Stream's API (CORS, Faye realtime). The page
 * is bundled with esbuild at start. Run: `node --conditions=eddy-source --import tsx
 * examples/react-feed/server.ts`, then open the address it prints (http://127.0.0.1:3000/ unless PORT
 * says otherwise or 3000 is taken; it asks for a name), or ?user=alice and ?user=bob directly. The
 * Eddy API listens on API_PORT (default 8000, or a free port when that is taken).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { OgOptions } from 'eddy'
import { createServer } from 'eddy/server'
import { build } from 'esbuild'
import Fastify, { type FastifyInstance } from 'fastify'
import stream from 'getstream'
import { type ListenSpec, listen, orExit } from '../listen.js'

const KEY = 'react-feed-key'
const SECRET = 'react-feed-secret'
const APP_ID = '1'

const HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Eddy + react-activity-feed</title>
<link rel="stylesheet" href="/index.css">
<style>
body{font-family:sans-serif;max-width:640px;margin:1rem auto;padding:0 1rem}
.bar{display:flex;justify-content:space-between;align-items:center;margin-bottom:1rem}
/* The library's panel is 100vw wide (capped at 475px inline) and hangs off the bell's left side:
   open it leftwards (the right prop) and keep it within the page on narrow screens. */
.raf-notification-dropdown__panel--right{right:-8px}
.raf-notification-dropdown__panel{width:min(475px,calc(100vw - 2rem))}
.welcome form{display:flex;gap:.5rem;align-items:center}
.welcome input{padding:.4rem}
</style>
</head>
<body><div id="root"></div><script src="/page.js"></script></body>
</html>`

/** The running example: the Eddy API and the page server, with their origins. */
export interface ReactFeed {
  api: FastifyInstance
  page: FastifyInstance
  apiOrigin: string
  pageOrigin: string
  /** A server-side client (API secret) for setting up follows. */
  server: ReturnType<typeof stream.connect>
  close(): Promise<void>
}

/** Bundles page.js for browsers (React 17, react-activity-feed and its getstream 7). */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./page.js', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2019',
    minify: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  })
  return result.outputFiles[0].text
}

/** Listens on a port, or as a {@link ListenSpec} says (an environment variable, else a default or a free port). */
function listenOn(app: FastifyInstance, port: number | ListenSpec | undefined): Promise<string> {
  return typeof port === 'object' ? listen(app, port) : app.listen({ port: port ?? 0, host: '127.0.0.1' })
}

/** Starts the Eddy API and the page server (port 0 or none: free ports). */
export async function startReactFeed(
  options: {
    apiPort?: number | ListenSpec
    pagePort?: number | ListenSpec
    /** Link preview settings (the browser test previews a page on loopback: `allowPrivate`). */
    og?: OgOptions
  } = {},
): Promise<ReactFeed> {
  const script = await bundle()
  const css = readFileSync(
    createRequire(import.meta.url).resolve('react-activity-feed/dist/index.css'),
    'utf8',
  )
  // Uploads (StatusUpdateForm's images and files) are kept in memory, as the feeds are.
  const api = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET, uploads: { og: options.og } })
  await listenOn(api, options.apiPort)
  const apiOrigin = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`
  const server = stream.connect(KEY, SECRET, APP_ID, { urlOverride: { api: `${apiOrigin}/api/` } })

  const page = Fastify()
  page.get('/', (_req, reply) => reply.type('text/html').send(HTML))
  page.get('/page.js', (_req, reply) => reply.type('text/javascript').send(script))
  page.get('/index.css', (_req, reply) => reply.type('text/css').send(css))
  // A real app issues the token after its own sign-in; the example trusts the name in the URL.
  page.get('/config', async (request, reply) => {
    const user = String((request.query as { user?: string }).user ?? '')
    if (!/^[\w-]{1,64}$/.test(user))
      return reply.code(400).send({ error: 'A name is 1 to 64 letters, digits, _ or -.' })
    // Each user's timeline shows their own posts and those of everyone they follow.
    await server.feed('timeline', user).follow('user', user)
    return {
      apiKey: KEY,
      appId: APP_ID,
      token: server.createUserToken(user),
      userId: user,
      api: `${apiOrigin}/api/`,
      faye: `${apiOrigin}/faye`,
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
    async close() {
      await page.close()
      await api.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // PORT and API_PORT choose; unset, 3000 and 8000 unless taken (Chirp, eddy serve), else free ones.
  const host = '127.0.0.1'
  const app = await orExit(
    startReactFeed({
      apiPort: { name: 'react-feed API', variable: 'API_PORT', defaultPort: 8000, host },
      pagePort: { name: 'react-feed', variable: 'PORT', defaultPort: 3000, host },
    }),
  )
  // Everyone follows everyone in this demo, so two windows see each other's posts.
  for (const [a, b] of [
    ['alice', 'bob'],
    ['bob', 'alice'],
  ])
    await app.server.feed('timeline', a).follow('user', b)
  process.stdout.write(
    `open ${app.pageOrigin}/?user=alice and ${app.pageOrigin}/?user=bob (API ${app.apiOrigin})\n`,
  )
}
