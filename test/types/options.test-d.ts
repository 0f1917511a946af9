/**
 * Type tests (checked by `tsc` in `npm test`; nothing here runs): a misspelt option is a compile
 * error on every public method of the embedded client, `connect()` and `configure()`, while every
 * spelling getstream's types allow compiles (issue 19 item 6; the run-time side is
 * test/option-names.test.ts).
 */

import { connect } from 'eddy'
import { configure } from 'eddy/django'
import { createServer } from 'eddy/server'
import type { GetFeedOptions as StreamGetFeedOptions } from 'getstream'

export function misspelt(): void {
  const client = connect({ store: 'memory' })
  const feed = client.feed('user', '1')
  // @ts-expect-error limt is not an option
  void feed.get({ limt: 5 })
  // @ts-expect-error withOwnReaction is not an option
  void feed.getActivityDetail('id', { withOwnReaction: true })
  // @ts-expect-error limt is not an option
  void feed.follow('user', '2', { limt: 1 })
  // @ts-expect-error keep_history is unfollowMany's spelling, not unfollow's
  void feed.unfollow('user', '2', { keep_history: true })
  // @ts-expect-error ofset is not an option
  void feed.followers({ ofset: 1 })
  // @ts-expect-error filters is not an option
  void feed.following({ filters: [] })
  // @ts-expect-error followerSlug is not an option
  void feed.followStats({ followerSlug: [] })
  // @ts-expect-error id is not an option (ids is)
  void client.getActivities({ id: ['x'] })
  // @ts-expect-error sett is not a field
  void client.activityPartialUpdate({ id: 'x', sett: {} })
  // @ts-expect-error activityCopyLimit is not a field (activity_copy_limit is)
  void client.followMany([{ source: 'timeline:1', target: 'user:2', activityCopyLimit: 1 }])
  // @ts-expect-error user_id is not an option (userId is)
  void client.reactions.add('like', 'x', {}, { user_id: 'u' })
  // @ts-expect-error a child reaction takes no id
  void client.reactions.addChild('like', 'x', {}, { id: 'x' })
  // @ts-expect-error target_feeds is not an option (targetFeeds is)
  void client.reactions.update('x', {}, { target_feeds: [] })
  // @ts-expect-error activityId is not a condition (activity_id is)
  void client.reactions.filter({ activityId: 'x' })
  // @ts-expect-error entityType is not an option (entity_type is)
  void client.auditLogs.filter({ entityType: 'activity' })
  // @ts-expect-error stor is not an option
  connect({ stor: 'memory' })
  // @ts-expect-error userfeed is not a setting
  configure({ userfeed: 'profile' })
}

export function getstreamSpellings(options: StreamGetFeedOptions): void {
  const client = connect({ store: 'memory' })
  // Whatever getstream's own GetFeedOptions type holds is accepted.
  void client.feed('user', '1').get(options)
  void client.feed('notification', '1').get({
    limit: 5,
    offset: 0,
    id_lt: 'x',
    mark_seen: true,
    mark_read: ['x'],
    enrich: true,
    withOwnReactions: true,
    ownReactions: true,
    withRecentReactions: true,
    withReactionCounts: true,
    withOwnChildren: true,
    recentReactionsLimit: 5,
    reactionKindsFilter: ['like'],
    user_id: 'u',
    withUserId: 'u',
    reactions: { own: true },
    ranking: 'popular',
    rankingVars: { boost: 2 },
    ranking_vars: '{}',
    session: 's',
    withScoreVars: true,
    refresh: true,
  })
  void client.getActivities({ ids: ['x'], withOwnReactions: true, user_id: 'u', reactions: { own: true } })
  void client.getActivities({ foreignIDTimes: [{ foreignID: 'f', time: new Date() }] })
  void client.reactions.add('like', 'x', {}, { userId: 'u', targetFeeds: ['notification:2'], id: 'r' })
  void client.reactions.filter({ activity_id: 'x', kind: 'like', with_activity_data: true })
}

export function serverOptions(): void {
  // @ts-expect-error cros is not an option
  createServer({ apiKey: 'k', apiSecret: 's', cros: false })
}

export function groupOptions(): void {
  // @ts-expect-error aggregation_format is not a feed group option (aggregationFormat is)
  connect({ feedGroups: { photos: { type: 'aggregated', aggregation_format: '{{ verb }}' } } })
}
