/**
 * The same TypeORM suite, and the shared adapter suite in a database of its own, on PostgreSQL (127.0.0.1:5432, user postgres, database test), in a
 * schema of its own that is dropped afterwards. Skipped, saying why, when PostgreSQL is not there.
 */
import 'reflect-metadata'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { DataSource } from 'typeorm'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { ENTITIES } from './fixtures/integration/entities.js'
import { typeormHarness } from './fixtures/integration/typeorm-harness.js'
import { CountingLogger, SeedPins1700000000000, typeormSuite } from './fixtures/integration/typeorm-suite.js'

const config = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
}

async function reachable(): Promise<string | undefined> {
  const probe = new pg.Client({ ...config, connectionTimeoutMillis: 2000 })
  try {
    await probe.connect()
    await probe.query('SELECT 1')
    return undefined
  } catch (error) {
    return `PostgreSQL not reachable at ${config.host}:${config.port}/${config.database}: ${(error as Error).message}`
  } finally {
    await probe.end().catch(() => undefined)
  }
}

const skip = await reachable()
const schema = `eddy_it_${process.pid}_${randomBytes(4).toString('hex')}`

typeormSuite(
  'PostgreSQL',
  async () => {
    const admin = new pg.Client(config)
    await admin.connect()
    await admin.query(`CREATE SCHEMA "${schema}"`)
    const logger = new CountingLogger()
    const ds = new DataSource({
      type: 'postgres',
      ...config,
      username: config.user,
      schema,
      entities: ENTITIES,
      migrations: [SeedPins1700000000000],
      synchronize: true,
      logger,
    })
    try {
      await ds.initialize()
    } catch (error) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
      throw error
    }
    return {
      ds,
      logger,
      cleanup: async () => {
        await ds.destroy()
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await admin.end()
      },
    }
  },
  skip,
)

adapterSuite(typeormHarness('postgres', skip))
