/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database file inside the
 * commit that crosses `wal_autocheckpoint`, on the thread that committed: with 10,000 pages that
 * took 50–110 ms here, every few 50,000-follower fan-outs, and every request waited for it. Once a
 * store's WAL grows, a worker thread with its own connection runs PASSIVE checkpoints instead,
 * which wait for no reader or writer; the main connection's own autocheckpoint stays as the
 * fallback and then finds nothing left to copy.
 */
import { statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Database } from './driver.js'

/** WAL size past which a store gets its checkpoint worker (the worker stays until close). */
export const CHECKPOINT_WORKER_AT_BYTES = 4 * 1024 * 1024

/** How often the main thread looks at the WAL size before a worker is started. */
const WATCH_MS = 500

// CommonJS, run with `eval`, so it needs no file of its own in src/ and dist/. It checkpoints
// every 20 ms while the WAL moves and backs off to 1 s while it does not.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('synchronous = ' + workerData.synchronous)
let delay = 20
let last = ''
let timer
function tick() {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)')
    const state = row.log + '/' + row.checkpointed
    delay = state === last ? Math.min(delay * 2, 1000) : 20
    last = state
  } catch {
    delay = 1000
  }
  timer = setTimeout(tick, delay)
}
tick()
parentPort.on('message', () => {
  clearTimeout(timer)
  db.close()
  parentPort.close()
})
`

interface Checkpoints {
  watch: NodeJS.Timeout
  worker?: Worker
  exited?: Promise<void>
}

const running = new WeakMap<Database, Checkpoints>()

/**
 * Watches the WAL of `db` (a file at `path`) and starts the checkpoint worker once it passes
 * {@link CHECKPOINT_WORKER_AT_BYTES}; {@link stopCheckpoints} ends both. In-memory databases have
 * no WAL and are left alone.
 */
export function startCheckpoints(db: Database, file: string, synchronous: 'NORMAL' | 'FULL'): void {
  if (file === ':memory:' || file === '') return
  const path = resolve(file)
  const state: Checkpoints = {
    watch: setInterval(() => {
      let size = 0
      try {
        size = statSync(`${path}-wal`).size
      } catch {
        return // no WAL yet
      }
      if (size < CHECKPOINT_WORKER_AT_BYTES || !db.open) return
      clearInterval(state.watch)
      const driver = createRequire(import.meta.url).resolve('better-sqlite3')
      const worker = new Worker(WORKER, { eval: true, workerData: { driver, path, synchronous } })
      // The worker must not keep the process alive, and its failure only costs the main thread
      // its checkpoints back (SQLite's autocheckpoint still runs them there).
      worker.unref()
      worker.on('error', () => undefined)
      state.worker = worker
      state.exited = new Promise((resolve) => worker.once('exit', () => resolve()))
    }, WATCH_MS),
  }
  state.watch.unref()
  running.set(db, state)
}

/** Stops watching and lets the worker close its connection; resolves once it has. */
export async function stopCheckpoints(db: Database): Promise<void> {
  const state = running.get(db)
  if (!state) return
  running.delete(db)
  clearInterval(state.watch)
  if (!state.worker) return
  // Referenced while it stops: an unreferenced worker would let the process exit under our await.
  state.worker.ref()
  state.worker.postMessage('stop')
  await state.exited
}
