/** stream-django's test_manager.py (tests 9-16), ported, plus settings and manager behaviour it left untested. */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import {
  activityOf,
  client,
  configure,
  FeedManager,
  feedManager,
  getClient,
  getFeedManager,
  getSettings,
  resetSettings,
} from '../src/django/index.js'
import { Tweet } from './fixtures/integration/entities.js'
import { startStub } from './fixtures/integration/http-stub.js'
import { RecordingClient } from './fixtures/integration/recording.js'
import { must } from './helpers.js'

describe('feed manager (test_manager.py)', () => {
  let eddy: EddyClient
  let recorder: RecordingClient
  beforeEach(() => {
    eddy = connect({ store: 'memory', feedGroups: { personal: { type: 'flat' } } })
    recorder = new RecordingClient(eddy)
    configure({ client: recorder })
    feedManager.enableModelTracking()
  })
  afterEach(async () => {
    await resetSettings()
    await eddy.close()
  })

  it('9. getUserFeed', () => {
    assert.equal(feedManager.getUserFeed(42).id, 'user:42')
  })
  it('10. getUserFeed by feed type', () => {
    assert.equal(feedManager.getUserFeed(42, 'personal').id, 'personal:42')
  })
  it('11. getNotificationFeed', () => {
    assert.equal(feedManager.getNotificationFeed(42).id, 'notification:42')
  })
  it('12. getActorFeed of a row without an author feed is the user feed', () => {
    assert.equal(feedManager.getActorFeed(Object.assign(new Tweet(), { id: 1 })), 'user')
  })
  it('13. followUser: every news feed follows the user feed; the last is timeline_aggregated:1', async () => {
    await feedManager.followUser(1, 2)
    assert.deepEqual(
      recorder.calls.map((c) => [c.method, c.feed, ...c.args]),
      [
        ['follow', 'timeline:1', 'user', '2'],
        ['follow', 'timeline_aggregated:1', 'user', '2'],
      ],
    )
  })
  it('14. unfollowUser: the last call unfollows user:2 from timeline_aggregated:1', async () => {
    await feedManager.followUser(1, 2)
    await feedManager.unfollowUser(1, 2)
    assert.deepEqual(recorder.last(), {
      method: 'unfollow',
      feed: 'timeline_aggregated:1',
      args: ['user', '2'],
    })
  })
  it('15. getFeed', () => {
    assert.equal(feedManager.getFeed('timeline', 42).id, 'timeline:42')
  })
  it('16. getNewsFeeds', () => {
    const feeds = feedManager.getNewsFeeds(42)
    assert.deepEqual(Object.keys(feeds), ['timeline', 'timeline_aggregated'])
    assert.equal(feeds.timeline.id, 'timeline:42')
    assert.equal(feeds.timeline_aggregated.id, 'timeline_aggregated:42')
  })
})

describe('feed manager over HTTP through the official getstream client (13, 14 as in stream-django)', () => {
  let stub: Awaited<ReturnType<typeof startStub>>
  before(async () => {
    stub = await startStub()
  })
  after(async () => {
    await resetSettings()
    await stub.close()
  })

  it('13. follow_user: the last request path ends with 1/following/ (stream-js spells follows "following")', async () => {
    configure({
      client: 'getstream',
      apiKey: 'test_key',
      apiSecret: '123',
      location: 'us-east',
      baseUrl: stub.url,
    })
    await feedManager.followUser(1, 2)
    const last = must(stub.requests.at(-1), 'a request')
    assert.equal(last.method, 'POST')
    assert.match(last.path, /timeline_aggregated\/1\/following\/$/)
    assert.deepEqual(last.body, { target: 'user:2' })
    assert.equal(stub.requests.length, 2)
  })

  it('14. unfollow_user: the last request is DELETE …/1/following/user:2/', async () => {
    await feedManager.unfollowUser(1, 2)
    const last = must(stub.requests.at(-1), 'a request')
    assert.equal(last.method, 'DELETE')
    assert.match(last.path, /timeline_aggregated\/1\/following\/user:2\/$/)
  })

  it('adding a row activity sends actor/verb/object/foreign_id and `to` on the wire', async () => {
    const tweet = Object.assign(new Tweet(), { id: 42, actor: 'tommaso' })
    await feedManager.addActivityToFeed(tweet)
    const last = must(stub.requests.at(-1), 'a request')
    assert.equal(last.method, 'POST')
    assert.match(last.path, /feed\/user\/tommaso\/$/)
    assert.deepEqual(last.body, {
      actor: 'tommaso',
      verb: 'tweet',
      object: 'Tweet:42',
      foreign_id: 'Tweet:42',
      to: ['notification:thierry'],
    })
    await feedManager.removeActivityFromFeed(tweet)
    assert.equal(must(stub.requests.at(-1), 'a request').method, 'DELETE')
    assert.match(must(stub.requests.at(-1), 'a request').path, /feed\/user\/tommaso\/Tweet:42\/$/)
  })

  it("'getstream' without credentials is a clear error", async () => {
    configure({ client: 'getstream', apiKey: undefined, apiSecret: undefined })
    assert.throws(() => getClient(), /needs apiKey and apiSecret/)
  })
})

describe('settings and the manager at runtime', () => {
  afterEach(() => resetSettings())

  it('has stream-django defaults', () => {
    const s = getSettings()
    assert.equal(s.userFeed, 'user')
    assert.equal(s.notificationFeed, 'notification')
    assert.deepEqual(Object.keys(s.newsFeeds), ['timeline', 'timeline_aggregated'])
    assert.equal(s.timeout, 6)
    assert.equal(s.disableModelTracking, false)
  })

  it('the notification-feed setting is the one the code reads, and changes take effect', () => {
    configure({ client: connect({ store: 'memory', feedGroups: { alerts: { type: 'notification' } } }) })
    assert.equal(feedManager.getNotificationFeed(1).id, 'notification:1')
    configure({ notificationFeed: 'alerts' })
    assert.equal(feedManager.getNotificationFeed(1).id, 'alerts:1')
  })

  it('newsFeeds: only the keys matter, a list works too', () => {
    configure({ client: connect({ store: 'memory' }), newsFeeds: { timeline: 'ignored' } })
    assert.deepEqual(Object.keys(feedManager.getNewsFeeds(1)), ['timeline'])
    configure({ newsFeeds: ['timeline_aggregated'] })
    assert.deepEqual(Object.keys(feedManager.getNewsFeeds(1)), ['timeline_aggregated'])
  })

  it('rejects unknown settings and bad values', () => {
    assert.throws(
      () => configure({ nope: 1 } as Parameters<typeof configure>[0]),
      /configure\(\) has no setting "nope"; the settings are apiKey, /,
    )
    assert.throws(() => configure({ userFeed: 'a b' }), /userFeed must be a feed group name/)
    assert.throws(() => configure({ timeout: -1 }), /timeout/)
  })

  it('feedManagerClass swaps the manager, and the feedManager export follows', async () => {
    const seen: string[] = []
    class QueueingManager extends FeedManager {
      override async activityCreated(instance: object): Promise<unknown> {
        seen.push(activityOf(instance).foreignId)
        return undefined
      }
    }
    configure({ client: connect({ store: 'memory' }), feedManagerClass: QueueingManager })
    assert.ok(getFeedManager() instanceof QueueingManager)
    await feedManager.activityCreated(Object.assign(new Tweet(), { id: 7, actor: 'x' }))
    assert.deepEqual(seen, ['Tweet:7'])
    configure({ feedManagerClass: undefined })
    assert.ok(!(getFeedManager() instanceof QueueingManager))
  })

  it('the embedded client is the default and follows really deliver activities', async () => {
    configure({ client: { store: 'memory' } })
    await feedManager.followUser('bob', 'alice')
    await feedManager
      .getUserFeed('alice')
      .addActivity({ actor: 'User:alice', verb: 'post', object: 'Post:1' })
    await (client as EddyClient).flush()
    const timeline = await feedManager.getFeed('timeline', 'bob').get()
    assert.equal(timeline.results.length, 1)
    const aggregated = await feedManager.getFeed('timeline_aggregated', 'bob').get()
    assert.equal(aggregated.results[0].activities[0].object, 'Post:1')
    await feedManager.unfollowUser('bob', 'alice')
    await (client as EddyClient).flush()
    assert.equal((await feedManager.getFeed('timeline', 'bob').get()).results.length, 0)
  })

  it('followUser takes a target feed type (stream-django #60) and a copy limit', async () => {
    configure({ client: { store: 'memory', feedGroups: { page: { type: 'flat' } } } })
    await feedManager.getFeed('page', 'p1').addActivity({ actor: 'x', verb: 'v', object: 'o:1' })
    await feedManager.followUser('u', 'p1', { feedType: 'page', activityCopyLimit: 0 })
    await (client as EddyClient).flush()
    assert.equal((await feedManager.getFeed('timeline', 'u').get()).results.length, 0)
    const following = await (getClient() as EddyClient).feed('timeline', 'u').following()
    assert.deepEqual(
      following.results.map((r) => r.target_id),
      ['page:p1'],
    )
  })

  it('low-level access: client.feed(special, 42).follow(timeline, 60)', async () => {
    configure({ client: { store: 'memory', feedGroups: { special: { type: 'flat' } } } })
    await client.feed('special', '42').follow('timeline', '60')
    const following = await (getClient() as EddyClient).feed('special', '42').following()
    assert.equal(following.results[0].target_id, 'timeline:60')
  })
})
