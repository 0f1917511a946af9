/** docs/integration.md's MikroORM section as one script: pins flushed in a transaction reach a follower after COMMIT. */
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite'
import { Entity, ManyToOne, MikroORM, type Opt, PrimaryKey, Property } from '@mikro-orm/core'
import { client, configure, Enrich, feedManager } from 'eddy/django'
import { Activity, trackOrm } from 'eddy/mikro-orm'

@Entity()
class User {
  @PrimaryKey({ type: 'number' }) id!: number
  @Property({ type: 'string' }) username!: string
}

@Activity({ actorAttr: 'author', relatedModels: ['author'] })
@Entity()
class Pin {
  @PrimaryKey({ type: 'number' }) id!: number
  @ManyToOne(() => User) author!: User
  @Property({ type: 'string' }) message!: string
  @Property({ type: 'Date' }) createdAt: Opt<Date> = new Date()
}

configure({ client: { store: 'sqlite:feeds.sqlite' } })
const orm = await MikroORM.init({ driver: BetterSqliteDriver, dbName: 'app.sqlite', entities: [User, Pin] })
await orm.schema.createSchema()
trackOrm(orm)

const em = orm.em.fork()
const alice = em.create(User, { username: 'alice' })
const bob = em.create(User, { username: 'bob' })
await em.flush()
await feedManager.followUser(bob.id, alice.id)
await em.transactional(async (tx) => {
  tx.create(Pin, { author: alice, message: 'hello' })
  await tx.flush() // afterCreate fires here, before COMMIT: buffered
  const draft = tx.create(Pin, { author: alice, message: 'draft' })
  await tx.flush()
  tx.remove(draft) // afterDelete: at COMMIT the draft is published, then removed, in write order
}) // published here, after COMMIT
await client.flush?.()

const { results } = await feedManager.getNewsFeeds(bob.id).timeline.get({ limit: 25 })
const [activity] = await new Enrich().enrichActivities(results as never)
const pin = activity.object as Pin
console.log(JSON.stringify({ timeline: results.length, message: pin.message, author: pin.author.username }))
await orm.close()
