/**
 * Feeds V3 poll queries and poll events through Stream's SDKs on every store: QueryPolls (the
 * spec's filters and sorts, next/prev cursors; a user lists only its own polls), QueryPollVotes
 * (filters, sorts, cursors; an anonymous poll never names or matches other voters), and the
 * `feeds.poll.*` events reaching every feed holding an activity with the poll (a user's
 * activity carries only its own polls).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KEY, nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 16 not found, 17 not allowed). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3pollq')) {
  describe(`Feeds V3 poll queries and events (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    /** `userId`'s client, its user feed, a poll and an activity carrying it. */
    const pollOn = async (userId: string, options: Record<string, unknown> = {}) => {
      const client = await s.connect(userId)
      const feed = client.feed('user', userId)
      await feed.getOrCreate({ watch: true })
      const { poll } = await client.createPoll({
        name: 'Lunch?',
        options: [{ text: 'Soup' }, { text: 'Salad' }, { text: 'Stew' }],
        ...options,
      })
      const { activity } = await feed.addActivity({ type: 'poll', text: 'Lunch?', poll_id: poll.id })
      return { client, feed, poll, activity }
    }

    it("QueryPolls filters, sorts and pages a user's own polls", async () => {
      const ana = await s.connect('qp-ana')
      const made: string[] = []
      for (const [name, extra] of [
        ['Alpha', { max_votes_allowed: 2 }],
        ['Bravo', { voting_visibility: 'anonymous' }],
        ['Charlie', { is_closed: true, allow_answers: true }],
      ] as const) {
        const { poll } = await ana.createPoll({ name, options: [{ text: 'x' }], ...extra })
        made.push(poll.id)
      }
      const closed = await ana.queryPolls({
        filter: { is_closed: true },
        sort: [{ field: 'created_at', direction: -1 }],
      })
      assert.deepEqual(
        closed.polls.map((p) => p.name),
        ['Charlie'],
      )
      assert.equal(closed.polls[0].created_by?.id, 'qp-ana')
      const byName = await ana.queryPolls({ sort: [{ field: 'name', direction: -1 }] })
      assert.deepEqual(
        byName.polls.map((p) => p.name),
        ['Charlie', 'Bravo', 'Alpha'],
      )
      const filtered = await ana.queryPolls({
        filter: {
          $or: [{ max_votes_allowed: { $gte: 2 } }, { voting_visibility: 'anonymous' }],
          id: { $in: made },
        },
        sort: [{ field: 'name', direction: 1 }],
      })
      assert.deepEqual(
        filtered.polls.map((p) => p.name),
        ['Alpha', 'Bravo'],
      )
      // Dates compare as instants: a time without milliseconds is still before every poll here.
      const since = `${new Date(Date.now() - 60_000).toISOString().slice(0, 19)}Z`
      const recent = await ana.queryPolls({ filter: { created_at: { $gt: since }, allow_answers: true } })
      assert.deepEqual(
        recent.polls.map((p) => p.name),
        ['Charlie'],
      )
      const first = await ana.queryPolls({ limit: 2, sort: [{ field: 'name', direction: 1 }] })
      assert.deepEqual(
        first.polls.map((p) => p.name),
        ['Alpha', 'Bravo'],
      )
      assert.ok(first.next)
      const second = await ana.queryPolls({
        limit: 2,
        next: first.next,
        sort: [{ field: 'name', direction: 1 }],
      })
      assert.deepEqual(
        second.polls.map((p) => p.name),
        ['Charlie'],
      )
      assert.equal(second.next, undefined)
      const back = await ana.queryPolls({
        limit: 2,
        prev: second.prev,
        sort: [{ field: 'name', direction: 1 }],
      })
      assert.deepEqual(
        back.polls.map((p) => p.name),
        ['Alpha', 'Bravo'],
      )
      // The app lists everyone's polls; with user_id, that user's own votes show.
      const listed = await s.server.queryPolls({ filter: { created_by_id: { $in: ['qp-ana'] } } })
      assert.equal(listed.polls.length, 3)
    })

    it("never lists another user's polls, and refuses unbounded or malformed queries", async () => {
      const { poll } = await pollOn('qp-owner')
      const eve = await s.connect('qp-eve')
      for (const filter of [{ created_by_id: 'qp-owner' }, { id: poll.id }, {}]) {
        const { polls } = await eve.queryPolls({ filter })
        assert.deepEqual(
          polls.map((p) => p.id),
          [],
        )
      }
      // A user token may not ask as another user, nor may an anonymous visitor list any poll.
      await assert.rejects(eve.queryPolls({ user_id: 'qp-owner', filter: {} }), code(4))
      const anonymous = await fetch(`${s.base}/api/v2/polls/query?api_key=${KEY}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stream-auth-type': 'anonymous' },
        body: JSON.stringify({ filter: { id: poll.id } }),
      })
      assert.equal(anonymous.status, 201)
      assert.deepEqual(((await anonymous.json()) as { polls: unknown[] }).polls, [])
      await assert.rejects(eve.queryPolls({ limit: 1000 }), code(4))
      await assert.rejects(eve.queryPolls({ next: 'not-a-cursor' }), code(4))
      await assert.rejects(eve.queryPolls({ filter: { votes: { $exists: true } } }), code(4))
      await assert.rejects(eve.queryPolls({ sort: [{ field: 'vote_count', direction: 1 }] }), code(4))
      await assert.rejects(eve.queryPolls({ filter: { created_at: { $gt: 'yesterday' } } }), code(4))
      const deep = { $or: Array.from({ length: 60 }, (_, i) => ({ name: `n${i}` })) }
      await assert.rejects(eve.queryPolls({ filter: deep }), code(4))
      // Prototype keys in a filter read nothing and change nothing.
      const raw = await fetch(`${s.base}/api/v2/polls/query?api_key=${KEY}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stream-auth-type': 'jwt',
          authorization: s.server.generateUserToken({ user_id: 'qp-eve' }),
        },
        body: '{"filter":{"constructor":{"prototype":{"polluted":1}},"custom":{"$path_exists":"__proto__.x"}}}',
      })
      assert.equal(raw.status, 400)
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })

    it('QueryPollVotes filters, sorts and pages votes, naming voters of public polls', async () => {
      const { client, poll, activity } = await pollOn('qv-pia')
      const [soup, salad] = poll.options
      const ids = { poll_id: poll.id, activity_id: activity.id }
      await client.castPollVote({ ...ids, vote: { option_id: soup.id } })
      const ola = await s.connect('qv-ola')
      await ola.castPollVote({ ...ids, vote: { option_id: salad.id } })
      const max = await s.connect('qv-max')
      await max.castPollVote({ ...ids, vote: { option_id: soup.id } })
      const soupVotes = await ola.queryPollVotes({
        poll_id: poll.id,
        filter: { option_id: { $in: [soup.id] } },
        sort: [{ field: 'created_at', direction: 1 }],
      })
      assert.deepEqual(
        soupVotes.votes.map((v) => v.user_id),
        ['qv-pia', 'qv-max'],
      )
      assert.equal(soupVotes.votes[0].user?.id, 'qv-pia')
      const page = await ola.queryPollVotes({ poll_id: poll.id, limit: 2 })
      assert.equal(page.votes.length, 2)
      assert.deepEqual(
        page.votes.map((v) => v.user_id),
        ['qv-max', 'qv-ola'],
      )
      const rest = await ola.queryPollVotes({ poll_id: poll.id, limit: 2, next: page.next })
      assert.deepEqual(
        rest.votes.map((v) => v.user_id),
        ['qv-pia'],
      )
      const byUser = await s.server.queryPollVotes({ poll_id: poll.id, filter: { user_id: 'qv-ola' } })
      assert.deepEqual(
        byUser.votes.map((v) => v.option_id),
        [salad.id],
      )
      await assert.rejects(ola.queryPollVotes({ poll_id: 'no-such-poll' }), code(16))
      await assert.rejects(ola.queryPollVotes({ poll_id: poll.id, filter: { text: 'x' } }), code(4))
    })

    it('an anonymous poll never names or matches other voters in QueryPollVotes', async () => {
      const { client, poll, activity } = await pollOn('qa-ann', {
        voting_visibility: 'anonymous',
        allow_answers: true,
      })
      const ids = { poll_id: poll.id, activity_id: activity.id }
      await client.castPollVote({ ...ids, vote: { option_id: poll.options[0].id } })
      await client.castPollVote({ ...ids, vote: { answer_text: 'secret' } })
      const eve = await s.connect('qa-eve')
      await eve.castPollVote({ ...ids, vote: { option_id: poll.options[1].id } })
      const all = await eve.queryPollVotes({ poll_id: poll.id })
      assert.equal(all.votes.length, 3)
      for (const v of all.votes) {
        assert.equal(v.user_id, undefined)
        assert.equal(v.user, undefined)
      }
      // Probing by voter finds nothing of another's, whatever the operator.
      for (const filter of [
        { user_id: 'qa-ann' },
        { user_id: { $in: ['qa-ann', 'x'] } },
        { user_id: 'qa-ann', is_answer: true },
      ]) {
        const { votes } = await eve.queryPollVotes({ poll_id: poll.id, filter })
        assert.deepEqual(votes, [])
      }
      const notAnn = await eve.queryPollVotes({ poll_id: poll.id, filter: { user_id: { $ne: 'qa-ann' } } })
      assert.equal(notAnn.votes.length, 3)
      const mine = await eve.queryPollVotes({ poll_id: poll.id, filter: { user_id: 'qa-eve' } })
      assert.deepEqual(
        mine.votes.map((v) => v.option_id),
        [poll.options[1].id],
      )
      // The app may match by voter; the answer still names no one.
      const answers = await s.server.queryPollVotes({
        poll_id: poll.id,
        filter: { user_id: 'qa-ann', is_answer: true },
      })
      assert.deepEqual(
        answers.votes.map((v) => [v.answer_text, v.user_id]),
        [['secret', undefined]],
      )
      // Events on an anonymous poll name no voter either.
      const watcher = await s.connect('qa-watch')
      const feed = watcher.feed('user', 'qa-ann')
      await feed.getOrCreate({ watch: true })
      const cast = nextEvent<{ poll_vote: { user_id?: string } }>(feed as never, 'feeds.poll.vote_casted')
      await client.castPollVote({ ...ids, vote: { option_id: poll.options[2].id } })
      assert.equal((await cast).poll_vote.user_id, undefined)
    })

    it('poll changes reach the watchers of every feed holding the poll', async () => {
      const { client, poll, activity } = await pollOn('ev-ida', { enforce_unique_vote: true })
      // A second feed holds the poll through an activity of its own.
      const team = client.feed('user', 'ev-team')
      await s.server.feeds.getOrCreateFeed({
        feed_group_id: 'user',
        feed_id: 'ev-team',
        user_id: 'ev-ida',
        data: { visibility: 'public' },
      })
      await team.addActivity({ type: 'poll', text: 'again', poll_id: poll.id })
      const watcher = await s.connect('ev-kai')
      const own = watcher.feed('user', 'ev-ida')
      const other = watcher.feed('user', 'ev-team')
      await own.getOrCreate({ watch: true })
      await other.getOrCreate({ watch: true })

      const cast = nextEvent<{ fid: string; poll: { vote_count: number } }>(
        other as never,
        'feeds.poll.vote_casted',
      )
      const ids = { poll_id: poll.id, activity_id: activity.id }
      await client.castPollVote({ ...ids, vote: { option_id: poll.options[0].id } })
      const casted = await cast
      assert.equal(casted.fid, 'user:ev-team')
      assert.equal(casted.poll.vote_count, 1)
      const change = nextEvent<{ poll_vote: { option_id: string } }>(own as never, 'feeds.poll.vote_changed')
      await client.castPollVote({ ...ids, vote: { option_id: poll.options[1].id } })
      assert.equal((await change).poll_vote.option_id, poll.options[1].id)

      const updated = nextEvent<{ poll: { name: string } }>(other as never, 'feeds.poll.updated')
      await client.updatePollPartial({ poll_id: poll.id, set: { name: 'Dinner?' } })
      assert.equal((await updated).poll.name, 'Dinner?')
      const optioned = nextEvent<{ poll: { options: unknown[] } }>(own as never, 'feeds.poll.updated')
      await client.createPollOption({ poll_id: poll.id, text: 'Pie' })
      assert.equal((await optioned).poll.options.length, 4)
      const closed = nextEvent<{ poll: { is_closed: boolean } }>(own as never, 'feeds.poll.closed')
      await client.closePoll({ poll_id: poll.id })
      assert.equal((await closed).poll.is_closed, true)
      const deleted = nextEvent<{ poll: { id: string } }>(other as never, 'feeds.poll.deleted')
      await client.deletePoll({ poll_id: poll.id })
      assert.equal((await deleted).poll.id, poll.id)

      // Another user may not hang the poll on activities of its own (crowding out its holders).
      const eve = await s.connect('ev-eve')
      const eveFeed = eve.feed('user', 'ev-eve')
      await eveFeed.getOrCreate({})
      const { poll: kept } = await client.createPoll({ name: 'Kept?', options: [{ text: 'y' }] })
      await assert.rejects(eveFeed.addActivity({ type: 'poll', poll_id: kept.id }), code(17))
      // An activity may only carry a poll that exists.
      await assert.rejects(
        client.feed('user', 'ev-ida').addActivity({ type: 'poll', poll_id: 'no-such-poll' }),
        code(16),
      )
    })

    it('a partial update keeps other keys as custom fields and unsets them', async () => {
      const client = await s.connect('cu-cam')
      const { poll } = await client.createPoll({ name: 'Custom?', custom: { a: 1 } })
      const set = await client.updatePollPartial({
        poll_id: poll.id,
        set: { colour: 'red', custom: { b: 2 } },
      })
      assert.deepEqual(set.poll.custom, { b: 2, colour: 'red' })
      const unset = await client.updatePollPartial({ poll_id: poll.id, unset: ['colour'] })
      assert.deepEqual(unset.poll.custom, { b: 2 })
      await assert.rejects(client.updatePollPartial({ poll_id: poll.id, unset: ['nothing'] }), code(4))
    })
  })
}
