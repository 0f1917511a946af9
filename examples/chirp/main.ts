/**
 * `npm start`: opens (or creates and seeds) Chirp's data directory and serves the app.
 *
 *   PORT=3000 HOST=127.0.0.1 CHIRP_DATA=examples/chirp/.data npm start
 */
import { fileURLToPath } from 'node:url'
import { buildApp } from './app.js'

const dataDir = process.env.CHIRP_DATA || fileURLToPath(new URL('./.data/', import.meta.url))
const port = Number(process.env.PORT || 3000)
const host = process.env.HOST || '127.0.0.1'

console.log(`Chirp: opening ${dataDir} (demo data is added on the first run)...`)
const app = await buildApp({ dataDir, seed: true })
const address = await app.listen({ port, host })
console.log(`Chirp is running at ${address.replace('[::1]', 'localhost')}  (Ctrl+C to stop)`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
