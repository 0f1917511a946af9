/**
 * Reactions on the embedded client (`client.reactions`, `client.auditLogs`) on memory and
 * SQLite: the shared scenarios the server suite runs through the official client, plus what
 * only the embedded client shows (the reaction event hook).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EddyClient } from '../src/client/client.js'
import type { ReactionEvent } from '../src/engine/reactions.js'
import {
  type Actor,
  type Driver,
  type FeedHandle,
  type ReactionPage,
  reactionScenarios,
  type WireActivity,
} from './fixtures/reaction-scenarios.js'
import { must, open, rejection, STORES } from './helpers.js'

/**
 * An answer of the embedded client read as the wire shape the scenarios assert: its activities
 * carry the reaction fields (latest, own, counts) the read asked for.
 */
const asWire = <T>(answer: Promise<object>): Promise<T> => answer as Promise<T>

/** The embedded client acting as `user`: it names the user where a user token would imply it. */
function actor(client: EddyClient, user: string): Actor {
  const named = (options: Record<string, unknown> = {}) => ({ ...options, userId: user })
  return {
    reactions: {
      add: (kind, activity, data, options) => client.reactions.add(kind, activity, data, named(options)),
      addChild: (kind, reaction, data, options) =>
        client.reactions.addChild(kind, reaction, data, named(options)),
      get: (id) => client.reactions.get(id),
      filter: (conditions) => asWire<ReactionPage>(client.reactions.filter(conditions)),
      update: (id, data, options) => client.reactions.update(id, data, options),
      delete: (id, soft) => client.reactions.delete(id, soft),
      restore: (id) => client.reactions.restore(id),
    },
    feed: (slug, id): FeedHandle => {
      const feed = client.feed(slug, id)
      return {
        addActivity: (a) =>
          asWire<WireActivity>(feed.addActivity(a as Parameters<typeof feed.addActivity>[0])),
        removeActivity: (i) => feed.removeActivity(i),
        get: (o = {}) => asWire(feed.get({ ...o, user_id: user })),
        follow: (s, i, o) => feed.follow(s, i, o),
      }
    },
    getActivities: (options) => asWire(client.getActivities({ ...options, user_id: user })),
  }
}

for (const store of STORES) {
  describe(`reactions on the embedded client (${store.name})`, () => {
    let client: EddyClient
    before(() => {
      client = open(store, { auditLog: true })
    })
    after(() => client.close())

    const driver = (): Driver => ({
      as: (user) => actor(client, user),
      admin: Object.assign(actor(client, ''), {
        auditLogs: client.auditLogs,
        flush: () => client.flush(),
        feed: (slug: string, id: string) => client.feed(slug, id),
      }),
      userObject: (user) => ({
        error: 'ReferenceNotFound',
        reference: `SU:${user}`,
        reference_type: 'user',
        id: user,
      }),
    })
    reactionScenarios(driver, '')

    it('shows a reaction kind named __proto__ as an own key, not as the prototype', async () => {
      const { id } = await client
        .feed('user', 'proto')
        .addActivity({ actor: 'proto', verb: 'post', object: '1' })
      await client.reactions.add('__proto__', id, {}, { userId: 'proto' })
      await client.reactions.add('like', id, {}, { userId: 'proto' })
      const [activity] = (
        await asWire<{ results: WireActivity[] }>(
          client.feed('user', 'proto').get({ withRecentReactions: true }),
        )
      ).results
      assert.deepEqual(Object.keys(activity.latest_reactions).sort(), ['__proto__', 'like'])
      assert.equal(Object.getPrototypeOf(activity.latest_reactions), Object.prototype)
      assert.equal(
        (
          must(
            Object.getOwnPropertyDescriptor(activity.latest_reactions, '__proto__'),
            'an own __proto__ key',
          ).value as unknown[]
        ).length,
        1,
      )
    })

    it('tells listeners about each committed change, once, with the feeds its activity entered and left', async () => {
      const events: ReactionEvent[] = []
      const stop = client.engine.reactions.subscribe((e) => events.push(e))
      client.engine.reactions.subscribe(() => {
        throw new Error('a failing listener fails nothing')
      })
      const post = await client.feed('user', 'ev').addActivity({ actor: 'ev', verb: 'post', object: 'o' })
      const like = await client.reactions.add(
        'like',
        post.id,
        {},
        { userId: 'fan', targetFeeds: ['notification:ev'] },
      )
      await client.reactions.update(like.id, {}, { targetFeeds: ['user:fan'] })
      await client.reactions.delete(like.id, true)
      await client.reactions.restore(like.id)
      await client.reactions.delete(like.id)
      stop()
      await client.reactions.add('like', post.id, {}, { userId: 'fan' })
      assert.deepEqual(
        events.map((e) => [e.type, e.soft, e.addedTo, e.removedFrom]),
        [
          ['added', undefined, ['notification:ev'], []],
          ['updated', undefined, ['user:fan'], ['notification:ev']],
          ['deleted', true, [], ['user:fan']],
          ['restored', undefined, ['user:fan'], []],
          ['deleted', false, [], ['user:fan']],
        ],
      )
    })
  })
}

describe('the audit log is opt-in on the embedded client', () => {
  it('records nothing by default, and says how to turn it on', async () => {
    const client = open(STORES[0])
    try {
      const post = await client
        .feed('user', 'quiet')
        .addActivity({ actor: 'quiet', verb: 'post', object: 'o' })
      await client.reactions.add('like', post.id, {}, { userId: 'fan' })
      const error = await rejection(client.auditLogs.filter())
      assert.equal(error.status_code, 400)
      assert.match(error.detail, /connect\(\{ auditLog: true \}\)/)
      assert.equal((await rejection(() => open(STORES[0], { auditLog: 'yes' as never }))).status_code, 400)
    } finally {
      await client.close()
    }
  })
})
