/**
 * Type tests of the embedded client, checked by `tsc` in `npm test` (expect-type); nothing here
 * runs. Reads typed by feed group, custom fields, and getstream's argument spellings.
 */

import type {
  Activity,
  AggregatedFeedResponse,
  AggregatedGroup,
  EddyClient,
  EddyFeed,
  FeedResponse,
  FlatFeedResponse,
  NotificationFeedResponse,
} from 'eddy'
import * as root from 'eddy'
import { connect } from 'eddy'
import * as django from 'eddy/django'
import { expectTypeOf } from 'expect-type'
import type { StreamClient } from 'getstream'

declare const slug: string

export function defaultGroups(): void {
  const client = connect({ store: 'memory' })
  expectTypeOf(client.feed('user', '1').get()).resolves.toEqualTypeOf<FlatFeedResponse>()
  expectTypeOf(client.feed('timeline', '1').get()).resolves.toEqualTypeOf<FlatFeedResponse>()
  expectTypeOf(client.feed('user:1').get()).resolves.toEqualTypeOf<FlatFeedResponse>()
  expectTypeOf(client.feed('timeline_aggregated', '1').get()).resolves.toEqualTypeOf<AggregatedFeedResponse>()
  const notification = client.feed('notification', '1').get({ mark_seen: true })
  expectTypeOf(notification).resolves.toEqualTypeOf<NotificationFeedResponse>()
  expectTypeOf(notification).resolves.toHaveProperty('unseen').toEqualTypeOf<number>()
  expectTypeOf(notification).resolves.toHaveProperty('unread').toEqualTypeOf<number>()
  type Group = Awaited<typeof notification>['results'][number]
  expectTypeOf<Group['is_seen']>().toEqualTypeOf<boolean>()
  expectTypeOf<Group['is_read']>().toEqualTypeOf<boolean>()
  expectTypeOf<Group['activities']>().toEqualTypeOf<Activity[]>()
  expectTypeOf(client.feed('notification', '1').getActivityDetail('id')).resolves.toHaveProperty('unseen')
  // A slug only known at run time reads as any kind, as the official client types it.
  expectTypeOf(client.feed(slug, '1').get()).resolves.toEqualTypeOf<FeedResponse>()
  // @ts-expect-error an unknown slug in a literal
  client.feed('usr', '1')
  // @ts-expect-error an unknown slug in the combined form
  client.feed('usr:1')
}

export function configuredGroups(): void {
  const client = connect({
    store: 'memory',
    feedGroups: { photos: { type: 'aggregated' }, timeline: { type: 'notification' } },
  })
  expectTypeOf(client.feed('photos', '1').get()).resolves.toEqualTypeOf<AggregatedFeedResponse>()
  expectTypeOf(client.feed('timeline', '1').get()).resolves.toEqualTypeOf<NotificationFeedResponse>()
  expectTypeOf(client.feed('user', '1').get()).resolves.toEqualTypeOf<FlatFeedResponse>()
  // @ts-expect-error not configured
  client.feed('videos', '1')
  const groups = { alerts: { type: 'notification', aggregationFormat: '{{ verb }}' } } as const
  const withConst = connect({ store: 'memory', feedGroups: groups })
  expectTypeOf(withConst.feed('alerts', '1').get()).resolves.toHaveProperty('unseen').toBeNumber()
}

interface Chirp {
  text: string
  likes?: number
}

export function customFields(): void {
  const client = connect<Chirp>({ store: 'memory' })
  const page = client.feed('user', '1').get()
  expectTypeOf(page).resolves.toEqualTypeOf<FlatFeedResponse<Activity & Chirp>>()
  expectTypeOf<Awaited<typeof page>['results'][number]['text']>().toEqualTypeOf<string>()
  const groups = client.feed('timeline_aggregated', '1').get()
  expectTypeOf<Awaited<typeof groups>['results'][number]>().toEqualTypeOf<AggregatedGroup<Activity & Chirp>>()
  const added = client.feed('user', '1').addActivity({ actor: 'a', verb: 'chirp', object: 'c:1', text: 'hi' })
  expectTypeOf(added).resolves.toHaveProperty('text').toEqualTypeOf<string>()
  // @ts-expect-error the custom field is required when adding
  client.feed('user', '1').addActivity({ actor: 'a', verb: 'chirp', object: 'c:1' })
  expectTypeOf(client.getActivities({ ids: [] }))
    .resolves.toHaveProperty('results')
    .items.toHaveProperty('text')
  const photos = { photos: { type: 'flat' } } as const
  const both = connect<Chirp, typeof photos>({ store: 'memory', feedGroups: photos })
  expectTypeOf(both.feed('photos', '1').get()).resolves.toEqualTypeOf<FlatFeedResponse<Activity & Chirp>>()
}

export function assignability(): void {
  const typed = connect<Chirp>({ store: 'memory', feedGroups: { photos: { type: 'flat' } } })
  // The bare types accept every typed client and feed.
  expectTypeOf(typed).toMatchTypeOf<EddyClient>()
  expectTypeOf(typed.feed('notification', '1')).toMatchTypeOf<EddyFeed>()
  const any: EddyClient = typed
  expectTypeOf(any.feed('whatever', '1').get()).resolves.toEqualTypeOf<FeedResponse>()
}

/** Calls spelt as getstream's types spell them compile unchanged. */
export async function getstreamSpellings(stream: StreamClient): Promise<void> {
  const client = connect({ store: 'memory' })
  const time = new Date()
  await client.getActivities({ foreignIDTimes: [{ foreign_id: 'a:1', time }] })
  await client.getActivities({ foreignIDTimes: [{ foreignID: 'a:1', time: '2026-01-01T00:00:00' }] })
  await client.getActivities({ ids: ['x'], enrich: true, reactions: { own: true }, user_id: 'u' })
  await client.activityPartialUpdate({ foreignID: 'a:1', time: 'x', set: { a: 1 }, unset: ['b'] })
  await client.activitiesPartialUpdate([{ id: 'x', set: { 'nested.field': 1 } }])
  await client.followMany([{ source: 'timeline:1', target: 'user:2', activity_copy_limit: 5 }], 10)
  await client.unfollowMany([{ source: 'timeline:1', target: 'user:2', keep_history: true }])
  const feed = client.feed('user', '1', 'a-token-the-embedded-client-ignores')
  await feed.removeActivity({ foreignId: 'a:1' })
  await feed.removeActivity({ foreign_id: 'a:1' })
  await feed.follow('user', { id: '2' }, { limit: 10 })
  await feed.get({ limit: 10, mark_read: 'current', withRecentReactions: true, ranking: 'popular' })
  await feed.followStats({ followerSlugs: ['timeline'], followingSlugs: ['user'] })
  // An activity built with getstream's own NewActivity type is accepted as it is.
  const fromStream: Parameters<ReturnType<StreamClient['feed']>['addActivity']>[0] = {
    actor: 'alice',
    verb: 'post',
    object: { some: 'object' } as unknown,
  }
  await feed.addActivity(fromStream)
  await client.addToMany(fromStream, ['user:2'])
  void stream
}

export function djangoSubpath(): void {
  // The stream-django port's singletons and settings live in `eddy/django`, never in the root entry.
  expectTypeOf(django.feedManager.getFeed).toBeFunction()
  expectTypeOf(django.configure).toBeFunction()
  expectTypeOf(root).not.toHaveProperty('feedManager')
  expectTypeOf(root).not.toHaveProperty('client')
  expectTypeOf(root).not.toHaveProperty('configure')
}
