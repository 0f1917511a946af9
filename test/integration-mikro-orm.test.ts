/** MikroORM: the adapter suite on SQLite and PostgreSQL, plus what only MikroORM has. */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { Entity, PrimaryKey, Property } from '@mikro-orm/core'
import { connect, type EddyClient } from '../src/client/client.js'
import {
  activityCreated,
  activityDeleted,
  configure,
  resetSettings,
  resetTracking,
} from '../src/django/index.js'
import { EddySubscriber, loadFixtures, trackOrm } from '../src/django/mikro-orm/index.js'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { mikroOrmHarness, openMikroOrm, Pin, User } from './fixtures/integration/mikro-orm.js'
import { postgresUnavailable } from './fixtures/integration/postgres.js'
import { RecordingClient } from './fixtures/integration/recording.js'
import { must } from './helpers.js'

const pgSkip = await postgresUnavailable()
adapterSuite(mikroOrmHarness('sqlite'))
adapterSuite(mikroOrmHarness('postgres', pgSkip))

/** Opts in with a static member; the actor comes from a plain column. */
@Entity({ tableName: 'notes' })
class Note {
  @PrimaryKey({ type: 'number' }) id!: number
  @Property({ type: 'number' }) ownerId!: number
  static activity = { actorId: (n: Note) => n.ownerId, actor: (n: Note) => `User:${n.ownerId}` }
}

describe('MikroORM specifics', () => {
  let opened: Awaited<ReturnType<typeof openMikroOrm>>
  let eddy: EddyClient
  let recorder: RecordingClient
  let user: User

  before(async () => {
    opened = await openMikroOrm('sqlite', [User, Pin, Note])
  })
  after(async () => {
    await opened.close()
    await resetSettings()
  })
  beforeEach(async () => {
    eddy = connect({ store: 'memory' })
    recorder = new RecordingClient(eddy)
    configure({ client: recorder })
    resetTracking()
    const em = opened.orm.em.fork()
    user = em.create(User, { username: 'm' })
    await em.flush()
  })
  afterEach(() => eddy.close())

  const feed = async () => (await eddy.feed('user', String(user.id)).get()).results

  it('a static activity member opts an entity in', async () => {
    const em = opened.orm.em.fork()
    em.create(Note, { ownerId: user.id })
    await em.flush()
    assert.equal(
      (must(recorder.last(), 'a recorded call').args[0] as { actor: string }).actor,
      `User:${user.id}`,
    )
  })

  it('em.insert, nativeDelete and query-builder writes are untracked; the explicit API covers them', async () => {
    const em = opened.orm.em.fork()
    const id = await em.insert(Pin, { author: user.id, message: 'native', createdAt: new Date() })
    await em.insertMany(Pin, [{ author: user.id, message: 'native', createdAt: new Date() }])
    assert.equal(recorder.calls.length, 0)
    const pin = await em.findOneOrFail(Pin, id)
    await activityCreated(pin)
    assert.equal((await feed()).length, 1)
    await em.nativeDelete(Pin, { id })
    assert.equal((await feed()).length, 1, 'nativeDelete reports nothing')
    await activityDeleted(pin)
    assert.equal((await feed()).length, 0)
  })

  it('tracking twice keeps one subscriber (no double publish)', async () => {
    const second = await openMikroOrm('sqlite', [User, Pin, Note])
    try {
      assert.equal(
        [...second.orm.em.getEventManager().getSubscribers()].filter((s) => s instanceof EddySubscriber)
          .length,
        1,
      )
      trackOrm(second.orm)
      const em = second.orm.em.fork()
      const u = em.create(User, { username: 'x' })
      em.create(Pin, { author: u })
      await em.flush()
      assert.equal(recorder.calls.length, 1)
    } finally {
      await second.close()
    }
  })

  it('loadFixtures runs untracked; stopping tracking stops publishing', async () => {
    await loadFixtures(async () => {
      const em = opened.orm.em.fork()
      em.create(Pin, { author: em.getReference(User, user.id) })
      await em.flush()
    })
    assert.equal(recorder.calls.length, 0)
    const stop = trackOrm(opened.orm)
    stop()
    const em = opened.orm.em.fork()
    em.create(Pin, { author: em.getReference(User, user.id) })
    await em.flush()
    assert.equal(recorder.calls.length, 0)
    trackOrm(opened.orm)
  })
})
