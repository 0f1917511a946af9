/**
 * `npm start`: opens (or creates and seeds) Chirp's data directory and serves the app.
 *
 *   PORT=3000 HOST=127.0.0.1 CHIRP_DATA=examples/chirp/.data npm start
 *
 * Without PORT, a taken 3000 (another app) means a free port instead; a taken PORT is one line
 * saying so.
 */
import { fileURLToPath } from 'node:url'
import { listen, orExit } from '../listen.js'
import { buildApp } from './app.js'

const dataDir = process.env.CHIRP_DATA || fileURLToPath(new URL('./.data/', import.meta.url))
const host = process.env.HOST || '127.0.0.1'

console.log(`Chirp: opening ${dataDir} (demo data is added on the first run)...`)
const app = await buildApp({ dataDir, seed: true })
const address = await orExit(listen(app, { name: 'Chirp', variable: 'PORT', defaultPort: 3000, host }))
console.log(`Chirp is running at ${address.replace('[::1]', 'localhost')}  (Ctrl+C to stop)`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
