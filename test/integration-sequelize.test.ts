/** Sequelize: the adapter suite on SQLite and PostgreSQL, plus what only Sequelize has. */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import * as sqliteModule from '@appthreat/sqlite3'
import { DataTypes, Model, Sequelize } from 'sequelize'
import { connect, type EddyClient } from '../src/client/client.js'
import { activityCreated, configure, resetSettings, resetTracking } from '../src/django/index.js'
import { loadFixtures, trackSequelize } from '../src/django/sequelize/index.js'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import {
  postgresUnavailable,
  type ScratchDatabase,
  scratchDatabase,
} from './fixtures/integration/postgres.js'
import { RecordingClient } from './fixtures/integration/recording.js'
import { sequelizeHarness } from './fixtures/integration/sequelize.js'
import { must } from './helpers.js'

// The module object Sequelize wants is the default export, which the package's typings omit.
const sqlite3 = (sqliteModule as unknown as { default: object }).default

const pgSkip = await postgresUnavailable()
adapterSuite(sequelizeHarness('sqlite'))
adapterSuite(sequelizeHarness('postgres', pgSkip))

class Member extends Model {
  declare id: number
  declare name: string
}

/** Opts in through `init({ activity })`; overrides the verb with a member; soft deletes. */
class Post extends Model {
  declare id: number
  declare userId: number
  declare title: string
  get activityVerb(): string {
    return this.title === 'shout' ? 'shout' : 'post'
  }
}

function define(sequelize: Sequelize, deferredForeignKey: boolean): void {
  Member.init({ name: { type: DataTypes.STRING, defaultValue: '' } }, { sequelize, modelName: 'Member' })
  Post.init({ title: { type: DataTypes.STRING, defaultValue: '' } }, {
    sequelize,
    modelName: 'Post',
    paranoid: true,
    activity: { actorId: (p: Post) => p.userId, actor: (p: Post) => `Member:${p.userId}` },
  } as never)
  Post.belongsTo(Member, { as: 'user', foreignKey: 'userId', constraints: !deferredForeignKey })
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`Sequelize specifics on ${dialect}`, { skip: dialect === 'postgres' ? pgSkip : undefined }, () => {
    let sequelize: Sequelize
    let db: ScratchDatabase | undefined
    let eddy: EddyClient
    let recorder: RecordingClient
    let member: Member
    let untrack: () => void

    before(async () => {
      if (dialect === 'sqlite')
        sequelize = new Sequelize({
          dialect: 'sqlite',
          dialectModule: sqlite3,
          storage: ':memory:',
          logging: false,
        })
      else {
        db = await scratchDatabase('sequelize_x')
        sequelize = new Sequelize(db.url, { dialect: 'postgres', logging: false })
      }
      define(sequelize, dialect === 'postgres')
      untrack = trackSequelize(sequelize)
      await sequelize.sync({ force: true })
      if (dialect === 'postgres')
        await sequelize.query(
          'ALTER TABLE "Posts" ADD CONSTRAINT posts_member_deferred FOREIGN KEY ("userId") REFERENCES "Members"(id) DEFERRABLE INITIALLY DEFERRED',
        )
    })
    after(async () => {
      untrack()
      await sequelize.close()
      await db?.drop()
      await resetSettings()
    })
    beforeEach(async () => {
      eddy = connect({ store: 'memory' })
      recorder = new RecordingClient(eddy)
      configure({ client: recorder })
      resetTracking()
      member = await Member.create({ name: 'm' })
    })
    afterEach(() => eddy.close())

    const feed = async () => (await eddy.feed('user', String(member.id)).get()).results
    const verbs = () =>
      recorder.calls.map((c) => `${c.method}:${(c.args[0] as { verb?: string }).verb ?? ''}`)

    it('opts in through init({ activity }) with a member overriding the verb', async () => {
      await Post.create({ userId: member.id, title: 'shout' })
      await Post.create({ userId: member.id, title: 'hello' })
      assert.deepEqual(verbs(), ['addActivity:shout', 'addActivity:post'])
      assert.equal(
        (must(recorder.last(), 'a recorded call').args[0] as { actor: string }).actor,
        `Member:${member.id}`,
      )
    })

    it('soft delete removes, restore publishes again (instance and bulk)', async () => {
      const post = await Post.create({ userId: member.id })
      await post.destroy()
      assert.equal((await feed()).length, 0)
      await post.restore()
      assert.equal((await feed()).length, 1)
      await Post.destroy({ where: { userId: member.id } })
      assert.equal((await feed()).length, 0)
      await Post.restore({ where: { userId: member.id } })
      assert.equal((await feed()).length, 1)
    })

    it('individualHooks given by the caller does not publish twice', async () => {
      await Post.bulkCreate([{ userId: member.id }, { userId: member.id }], { individualHooks: true })
      assert.equal(recorder.calls.length, 2)
    })

    it('ignoreDuplicates, queryInterface and hooks: false are untracked; the explicit API covers them', async () => {
      await Post.bulkCreate([{ userId: member.id }], { ignoreDuplicates: true })
      await Post.create({ userId: member.id }, { hooks: false })
      await sequelize
        .getQueryInterface()
        .bulkInsert('Posts', [
          { userId: member.id, title: 'raw', createdAt: new Date(), updatedAt: new Date() },
        ])
      assert.equal(recorder.calls.length, 0)
      const raw = await Post.findOne({ where: { title: 'raw' } })
      await activityCreated(must(raw, 'the raw post'))
      assert.equal((await feed()).length, 1)
    })

    it('loadFixtures runs untracked', async () => {
      await loadFixtures(() => Post.bulkCreate([{ userId: member.id }, { userId: member.id }]))
      assert.equal(recorder.calls.length, 0)
    })

    it('after untracking, nothing publishes', async () => {
      untrack()
      await Post.create({ userId: member.id })
      assert.equal(recorder.calls.length, 0)
      untrack = trackSequelize(sequelize)
      await Post.create({ userId: member.id })
      assert.equal(recorder.calls.length, 1)
    })

    it('a COMMIT that fails publishes nothing (Sequelize still runs afterCommit hooks)', {
      skip: dialect === 'sqlite' ? 'needs a deferred foreign key, checked at COMMIT (PostgreSQL)' : undefined,
    }, async () => {
      const warn = console.warn
      console.warn = () => undefined // Sequelize warns that the failed COMMIT killed its connection
      try {
        await assert.rejects(
          sequelize.transaction(async (t) => {
            await Post.create({ userId: 99_999_999 }, { transaction: t })
          }),
          /foreign key/,
        )
      } finally {
        console.warn = warn
      }
      assert.equal(recorder.calls.length, 0)
    })
  })
}
