/** The README's TypeORM, feed manager, enrichment and template snippets, as one script. */
import 'reflect-metadata'
import { mkdirSync, writeFileSync } from 'node:fs'
import { client, configure, Enrich, feedManager } from 'eddy/django'
import { createLiquid } from 'eddy/liquid'
import { Activity, trackDataSource } from 'eddy/typeorm'
import { Column, CreateDateColumn, DataSource, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm'

@Entity()
export class User {
  @PrimaryGeneratedColumn() id!: number
  @Column('varchar') username!: string
}

@Activity({ actorAttr: 'author', relatedModels: ['author'] })
@Entity()
export class Pin {
  @PrimaryGeneratedColumn() id!: number
  @ManyToOne(() => User) author!: User
  @Column('varchar', { default: '' }) message!: string
  @CreateDateColumn() createdAt!: Date
}

configure({ client: { store: 'sqlite:feeds.sqlite' } })
const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: 'app.sqlite',
  entities: [User, Pin],
  synchronize: true,
})
trackDataSource(dataSource)
await dataSource.initialize()

const users = dataSource.getRepository(User)
const alice = await users.save({ username: 'alice' })
const bob = await users.save({ username: 'bob' })
await feedManager.followUser(bob.id, alice.id)
await dataSource.getRepository(Pin).save({ author: alice, message: 'hello' })
await client.flush?.() // the embedded client fans out in the background

const { results } = await feedManager.getNewsFeeds(bob.id).timeline.get({ limit: 25 })
const activities = await new Enrich().enrichActivities(results as never)

mkdirSync('views/activity', { recursive: true })
writeFileSync(
  'views/activity/pin.liquid',
  '{{ activity.actor.username }} pinned "{{ activity.object.message }}"',
)
const liquid = createLiquid({ root: ['views'] })
const html = await liquid.parseAndRender(
  '{% for activity in activities %}{% render_activity activity %}{% endfor %}',
  {
    activities,
  },
)
console.log(JSON.stringify({ timeline: results.length, html }))
await dataSource.destroy()
