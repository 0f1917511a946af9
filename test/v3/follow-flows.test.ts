/**
 * Feeds V3 follows, permissions, pins and members through @stream-io/feeds-client and node-sdk
 * against `eddy serve`'s app, on every store: follow requests on `followers` feeds (pending,
 * accepted, rejected, updated) over the engine's one follow graph (V1 sees the edge once
 * accepted), own_capabilities and own_follows, reads by visibility, pins, members and invites,
 * and current_feed. The attacker cases: answering, updating, pinning and managing members on
 * feeds one does not own, reading what visibility hides, and unbounded bodies.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { SignJWT } from 'jose'
import { KEY, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

/** V3's error body, as far as these tests read it. */
interface V3Error {
  code: number
  StatusCode: number
}

const sign = (payload: Record<string, unknown>) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))

for (const store of await v3Stores('v3follow')) {
  describe(`Feeds V3 follows, permissions, pins and members (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let sara: FeedsClient
    let adam: FeedsClient
    /** A raw V3 call as `user` (for the attacker cases the SDKs would not send). */
    let call: (
      user: string,
      method: string,
      path: string,
      body?: unknown,
    ) => Promise<{ status: number; body: V3Error }>
    before(async () => {
      s = await startV3(store)
      sara = await s.connect('sara')
      adam = await s.connect('adam')
      await sara.feed('user', 'sara').getOrCreate({ data: { visibility: 'followers' } })
      await sara.addActivity({ feeds: ['user:sara'], type: 'post', text: 'for followers' })
      await adam.feed('timeline', 'adam').getOrCreate({})
      call = async (user, method, path, body) => {
        const response = await fetch(`${s.base}/api/v2${path}?api_key=${KEY}`, {
          method,
          headers: {
            authorization: await sign({ user_id: user }),
            'stream-auth-type': 'jwt',
            'content-type': 'application/json',
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        return { status: response.status, body: (await response.json()) as V3Error }
      }
    })
    after(() => s.close())

    it('a follow of a followers feed is a request: pending, no edge, nothing to read until accepted', async () => {
      const { follow } = await adam.follow({ source: 'timeline:adam', target: 'user:sara' })
      assert.equal(follow.status, 'pending')
      assert.equal(follow.target_feed.follower_count, 0)
      // Not following yet: the feed's activities stay hidden, and V1 sees no edge.
      const denied = await adam
        .feed('user', 'sara')
        .getOrCreate({})
        .catch((e: { code?: number }) => e)
      assert.equal((denied as { code?: number }).code, 17)
      const v1 = await s.eddy.feed('timeline', 'adam').following()
      assert.deepEqual(v1.results, [])
      // The owner lists the request.
      const { follows } = await sara.queryFollows({ filter: { target_feed: 'user:sara', status: 'pending' } })
      assert.deepEqual(
        follows.map((f) => [f.source_feed.feed, f.status]),
        [['timeline:adam', 'pending']],
      )
      const capabilities = (await sara.feed('user', 'sara').getOrCreate({})).feed.own_capabilities ?? []
      assert.ok(capabilities.includes('update-feed-followers'))
    })

    it('the owner accepts: the engine edge is made (V1 sees it), the follower reads, own_follows says so', async () => {
      const { follow } = await sara.acceptFollow({ source: 'timeline:adam', target: 'user:sara' })
      assert.equal(follow.status, 'accepted')
      assert.equal(follow.target_feed.follower_count, 1)
      assert.ok(follow.request_accepted_at)
      const v1 = await s.eddy.feed('timeline', 'adam').following()
      assert.deepEqual(
        v1.results.map((r) => r.target_id),
        ['user:sara'],
      )
      const read = await adam.feed('user', 'sara').getOrCreate({})
      assert.deepEqual(
        read.activities.map((a) => a.text),
        ['for followers'],
      )
      assert.deepEqual(
        read.feed.own_follows?.map((f) => [f.source_feed.feed, f.status]),
        [['timeline:adam', 'accepted']],
      )
      assert.ok(read.feed.own_capabilities?.includes('read-activities'))
      assert.ok(!read.feed.own_capabilities?.includes('pin-activity'))
      // The copy of the feed's history reached the follower's timeline.
      const timeline = await adam.feed('timeline', 'adam').getOrCreate({})
      assert.deepEqual(
        timeline.activities.map((a) => [a.text, a.current_feed?.feed]),
        [['for followers', 'user:sara']],
      )
    })

    it('UpdateFollow keeps custom data and push preference; only the follower changes them', async () => {
      const { follow } = await adam.updateFollow({
        source: 'timeline:adam',
        target: 'user:sara',
        push_preference: 'none',
        custom: { inner_circle: true },
      })
      assert.equal(follow.push_preference, 'none')
      assert.deepEqual(follow.custom, { inner_circle: true })
      const { follows } = await adam.queryFollows({ filter: { source_feed: 'timeline:adam' } })
      assert.deepEqual(follows[0].custom, { inner_circle: true })
      const stolen = await call('mallory', 'PATCH', '/feeds/follows', {
        source: 'timeline:adam',
        target: 'user:sara',
        custom: { pwned: true },
      })
      assert.equal(stolen.status, 403)
    })

    it('the owner rejects: the follower is removed from the graph and reads nothing again', async () => {
      const { follow } = await sara.rejectFollow({ source: 'timeline:adam', target: 'user:sara' })
      assert.equal(follow.status, 'rejected')
      assert.equal(follow.target_feed.follower_count, 0)
      assert.deepEqual((await s.eddy.feed('timeline', 'adam').following()).results, [])
      const timeline = await adam.feed('timeline', 'adam').getOrCreate({})
      assert.deepEqual(timeline.activities, [])
    })

    it('refuses answers, pins and member changes by anyone but the feed owner, and anonymous follows', async () => {
      await adam.follow({ source: 'timeline:adam', target: 'user:sara' })
      const { activity } = await sara.addActivity({ feeds: ['user:sara'], type: 'post', text: 'pin me' })
      const pinPath = `/feeds/feed_groups/user/feeds/sara/activities/${activity.id}/pin`
      const attempts = [
        call('adam', 'POST', '/feeds/follows/accept', { source: 'timeline:adam', target: 'user:sara' }),
        call('mallory', 'POST', '/feeds/follows/reject', { source: 'timeline:adam', target: 'user:sara' }),
        call('mallory', 'POST', pinPath),
        call('mallory', 'DELETE', pinPath),
        call('mallory', 'PATCH', '/feeds/feed_groups/user/feeds/sara/members', {
          operation: 'upsert',
          members: [{ user_id: 'mallory' }],
        }),
        call('mallory', 'POST', '/feeds/feed_groups/user/feeds/sara/members/query', {}),
        call('mallory', 'POST', '/feeds/follows', { source: 'timeline:adam', target: 'user:mallory' }),
        call('mallory', 'POST', '/feeds/follows/query', {
          filter: { target_feed: 'user:sara', status: 'pending' },
        }),
      ]
      for (const r of await Promise.all(attempts)) {
        assert.equal(r.status, 403, JSON.stringify(r.body))
        assert.equal(r.body.code, 17)
      }
      // Nothing changed: the request is still pending and nothing is pinned or a member.
      const { follows } = await sara.queryFollows({ filter: { target_feed: 'user:sara', status: 'pending' } })
      assert.deepEqual(
        follows.map((f) => f.source_feed.feed),
        ['timeline:adam'],
      )
      const read = await sara.feed('user', 'sara').getOrCreate({})
      assert.deepEqual(read.pinned_activities, [])
      assert.deepEqual(read.members, [])
      // An invite cannot be answered by someone who was not invited.
      const answer = await call('mallory', 'POST', '/feeds/feed_groups/user/feeds/sara/members/accept', {})
      assert.equal(answer.status, 404)
    })

    it('refuses unbounded follow batches, member lists and custom data with a clear 400', async () => {
      const many = Array.from({ length: 101 }, (_, i) => ({ source: 'timeline:adam', target: `user:u${i}` }))
      const batch = await call('adam', 'POST', '/feeds/follows/batch', { follows: many })
      assert.equal(batch.status, 400)
      const members = Array.from({ length: 101 }, (_, i) => ({ user_id: `u${i}` }))
      const update = await call('sara', 'PATCH', '/feeds/feed_groups/user/feeds/sara/members', {
        operation: 'upsert',
        members,
      })
      assert.equal(update.status, 400)
      const custom = await call('adam', 'PATCH', '/feeds/follows', {
        source: 'timeline:adam',
        target: 'user:sara',
        custom: { many: Array.from({ length: 11_000 }, (_, i) => i) },
      })
      assert.equal(custom.status, 400)
      const op = await call('sara', 'PATCH', '/feeds/feed_groups/user/feeds/sara/members', {
        operation: 'drop',
      })
      assert.equal(op.status, 400)
    })

    it('pins: the owner pins an activity of the feed; readers see pinned_activities and pin_count', async () => {
      const feed = sara.feed('user', 'sara')
      await feed.getOrCreate({ watch: true })
      const { activity } = await sara.addActivity({ feeds: ['user:sara'], type: 'post', text: 'pinned' })
      const pinned = await sara.pinActivity({
        feed_group_id: 'user',
        feed_id: 'sara',
        activity_id: activity.id,
      })
      assert.equal(pinned.activity.id, activity.id)
      assert.ok(feed.currentState.pinned_activities?.some((p) => p.activity.id === activity.id))
      const read = await sara.feed('user', 'sara').getOrCreate({})
      assert.equal(read.feed.pin_count, 1)
      assert.deepEqual(
        read.pinned_activities.map((p) => [p.activity.text, p.user.id]),
        [['pinned', 'sara']],
      )
      // An activity of another feed is not pinned here.
      const { activity: other } = await adam.addActivity({
        feeds: ['timeline:adam'],
        type: 'post',
        text: 'x',
      })
      const wrong = await call(
        'sara',
        'POST',
        `/feeds/feed_groups/user/feeds/sara/activities/${other.id}/pin`,
      )
      assert.equal(wrong.status, 404)
      await sara.unpinActivity({ feed_group_id: 'user', feed_id: 'sara', activity_id: activity.id })
      assert.equal((await sara.feed('user', 'sara').getOrCreate({})).feed.pin_count, 0)
    })

    it('members: upsert, invite and answer; a members feed is readable by its members only', async () => {
      const club = sara.feed('user', 'club')
      await club.getOrCreate({ data: { visibility: 'members' } })
      await sara.addActivity({ feeds: ['user:club'], type: 'post', text: 'members only' })
      const denied = await adam
        .feed('user', 'club')
        .getOrCreate({})
        .catch((e: { code?: number }) => e)
      assert.equal((denied as { code?: number }).code, 17)
      const invited = await club.updateFeedMembers({
        operation: 'upsert',
        members: [{ user_id: 'adam', invite: true, custom: { reason: 'friend' } }],
      })
      assert.deepEqual(
        invited.added.map((m) => [m.user.id, m.status, m.role]),
        [['adam', 'pending', 'feed_member']],
      )
      // Invited is not a member yet.
      const still = await adam
        .feed('user', 'club')
        .getOrCreate({})
        .catch((e: { code?: number }) => e)
      assert.equal((still as { code?: number }).code, 17)
      const { member } = await adam.acceptFeedMemberInvite({ feed_group_id: 'user', feed_id: 'club' })
      assert.equal(member.status, 'member')
      const read = await adam.feed('user', 'club').getOrCreate({})
      assert.deepEqual(
        read.activities.map((a) => a.text),
        ['members only'],
      )
      assert.equal(read.feed.own_membership?.status, 'member')
      assert.equal(read.feed.member_count, 1)
      const { members } = await club.queryFeedMembers({ filter: { status: 'member' } })
      assert.deepEqual(
        members.map((m) => m.user.id),
        ['adam'],
      )
      const removed = await club.updateFeedMembers({ operation: 'remove', members: [{ user_id: 'adam' }] })
      assert.deepEqual(removed.removed_ids, ['adam'])
    })

    it('a visible feed is followed at once; a private one only by its owner', async () => {
      await sara.feed('user', 'open').getOrCreate({})
      await sara.feed('user', 'diary').getOrCreate({ data: { visibility: 'private' } })
      const { follow } = await adam.follow({ source: 'timeline:adam', target: 'user:open' })
      assert.equal(follow.status, 'accepted')
      const refused = await call('adam', 'POST', '/feeds/follows', {
        source: 'timeline:adam',
        target: 'user:diary',
      })
      assert.equal(refused.status, 403)
      const own = await adam.feed('user', 'open').getOrCreate({})
      assert.deepEqual(
        [...(own.feed.own_capabilities ?? [])].filter((c) =>
          ['follow', 'add-activity', 'update-feed'].includes(c),
        ),
        ['follow'],
      )
      // Posting: only the owner on a visible feed, any user on a public one.
      const post = { type: 'post', text: 'hi' }
      const onVisible = await call('adam', 'POST', '/feeds/activities', { ...post, feeds: ['user:open'] })
      assert.equal(onVisible.status, 403)
      await sara.feed('user', 'square').getOrCreate({ data: { visibility: 'public' } })
      const onPublic = await adam.addActivity({ ...post, feeds: ['user:square'] })
      assert.equal(onPublic.activity.user.id, 'adam')
      await adam.unfollow({ source: 'timeline:adam', target: 'user:open' })
      const after = await adam.feed('user', 'open').getOrCreate({})
      assert.deepEqual(after.feed.own_follows, [])
      assert.equal(after.feed.follower_count, 0)
    })
  })
}
