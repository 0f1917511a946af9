/**
 * The feed manager and TypeORM tracking through the official `getstream` client against the
 * Eddy server (the "Stream's cloud" path, served locally).
 */
import 'reflect-metadata'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DataSource } from 'typeorm'
import { connect } from '../src/client/client.js'
import { configure, Enrich, feedManager, resetSettings, resetTracking } from '../src/django/index.js'
import { trackDataSource } from '../src/django/typeorm/index.js'
import { ENTITIES, Pin, User } from './fixtures/integration/entities.js'
import { must } from './helpers.js'

const server = await import('../src/server/index.js').catch(() => undefined)
const skip =
  typeof server?.createServer === 'function'
    ? undefined
    : 'src/server/index.ts does not export createServer yet'

describe('feed manager via getstream against the Eddy server', { skip }, () => {
  const eddy = connect({ store: 'memory' })
  let app: ReturnType<NonNullable<typeof server>['createServer']> | undefined
  let ds: DataSource
  let untrack: () => void

  before(async () => {
    const started = must(server, 'the server module').createServer({
      apiKey: 'key',
      apiSecret: 'secret',
      client: eddy,
    })
    app = started
    const address = await started.listen({ port: 0, host: '127.0.0.1' })
    configure({ client: 'getstream', apiKey: 'key', apiSecret: 'secret', baseUrl: `${address}/api/` })
    resetTracking()
    ds = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: ENTITIES,
      synchronize: true,
    })
    await ds.initialize()
    untrack = trackDataSource(ds)
  })
  after(async () => {
    untrack?.()
    await ds?.destroy()
    await resetSettings()
    await app?.close()
    await eddy.close()
  })

  it('follows, publishes on save, reads and enriches through the official client', async () => {
    const author = await ds.getRepository(User).save({ username: 'alice' })
    await feedManager.followUser('bob', author.id)
    const pin = await ds.getRepository(Pin).save({ author, message: 'hello' })
    await eddy.flush()
    const { results } = await feedManager.getFeed('timeline', 'bob').get({ limit: 10 })
    assert.equal(results.length, 1)
    assert.equal(results[0].foreign_id, `Pin:${pin.id}`)
    const [enriched] = await new Enrich().enrichActivities(results)
    assert.equal((enriched.object as Pin).message, 'hello')
    assert.equal((enriched.actor as User).username, 'alice')

    const aggregated = await feedManager.getFeed('timeline_aggregated', 'bob').get()
    assert.equal(aggregated.results[0].activities.length, 1)

    await ds.getRepository(Pin).remove(pin)
    await eddy.flush()
    assert.equal((await feedManager.getFeed('timeline', 'bob').get()).results.length, 0)
    await feedManager.unfollowUser('bob', author.id)
    const following = await eddy.feed('timeline', 'bob').following()
    assert.equal(following.results.length, 0)
  })
})
