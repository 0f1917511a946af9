/** docs/integration.md's Sequelize section as one script: a Pin created in a transaction reaches a follower. */
import * as sqliteModule from '@appthreat/sqlite3'
import { client, configure, Enrich, feedManager } from 'eddy/django'
import { type ActivityOptions, trackSequelize } from 'eddy/sequelize'
import { DataTypes, Model, Sequelize } from 'sequelize'

// The module object Sequelize wants is the default export, which the package's typings omit.
const sqlite3 = (sqliteModule as unknown as { default: object }).default

class User extends Model {
  declare id: number
  declare username: string
}

class Pin extends Model {
  declare id: number
  declare authorId: number
  declare author?: User
  declare message: string
  // stream-django's `activity_actor_attr = 'author'`; any override point from the README table fits here.
  static activity: ActivityOptions<Pin> = { actorAttr: 'author', relatedModels: ['author'] }
}

configure({ client: { store: 'sqlite:feeds.sqlite' } })
// dialectModule: the sqlite3 API from a fork with prebuilt binaries (or install sqlite3, which may compile).
const sequelize = new Sequelize({
  dialect: 'sqlite',
  dialectModule: sqlite3,
  storage: 'app.sqlite',
  logging: false,
})
User.init({ username: DataTypes.STRING }, { sequelize, modelName: 'User' })
Pin.init({ message: DataTypes.STRING }, { sequelize, modelName: 'Pin' })
Pin.belongsTo(User, { as: 'author', foreignKey: 'authorId' })
trackSequelize(sequelize)
await sequelize.sync()

const alice = await User.create({ username: 'alice' })
const bob = await User.create({ username: 'bob' })
await feedManager.followUser(bob.id, alice.id)
await sequelize.transaction(async (transaction) => {
  await Pin.create({ authorId: alice.id, message: 'hello' }, { transaction })
  await Pin.bulkCreate([{ authorId: alice.id, message: 'draft' }], { transaction })
  await Pin.destroy({ where: { message: 'draft' }, transaction }) // per-row hooks are forced
}) // published here, after COMMIT
await client.flush?.()

const { results } = await feedManager.getNewsFeeds(bob.id).timeline.get({ limit: 25 })
const [activity] = await new Enrich().enrichActivities(results as never)
const pin = activity.object as Pin
console.log(JSON.stringify({ timeline: results.length, message: pin.message, author: pin.author?.username }))
await sequelize.close()
