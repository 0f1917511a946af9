/** The TypeORM suite and the shared adapter suite on SQLite (better-sqlite3, in memory). */
import 'reflect-metadata'
import { DataSource } from 'typeorm'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { ENTITIES } from './fixtures/integration/entities.js'
import { typeormHarness } from './fixtures/integration/typeorm-harness.js'
import { CountingLogger, SeedPins1700000000000, typeormSuite } from './fixtures/integration/typeorm-suite.js'

typeormSuite('SQLite', async () => {
  const logger = new CountingLogger()
  const ds = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: ENTITIES,
    migrations: [SeedPins1700000000000],
    synchronize: true,
    logger,
  })
  await ds.initialize()
  return { ds, logger, cleanup: () => ds.destroy() }
})

adapterSuite(typeormHarness('sqlite'))
