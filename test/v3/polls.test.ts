/**
 * Feeds V3 polls through Stream's SDKs on every store: a poll attached to an activity, votes by
 * its rules (enforce_unique_vote, max_votes_allowed, closed polls), counts and own votes on the
 * activity, and what a user token may not do (vote as another user, remove another's vote,
 * change or delete another's poll, unbounded input).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KEY, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 16 not found, 17 not allowed). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3polls')) {
  describe(`Feeds V3 polls (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    const setup = async (owner: string, options: Record<string, unknown> = {}) => {
      const client = await s.connect(owner)
      const feed = client.feed('user', owner)
      await feed.getOrCreate({})
      const { poll } = await client.createPoll({
        name: 'Colour?',
        options: [{ text: 'Red' }, { text: 'Blue' }, { text: 'Green' }],
        ...options,
      })
      const { activity } = await feed.addActivity({ type: 'poll', text: 'Colour?', poll_id: poll.id })
      return { client, poll, activity }
    }

    it('votes show on the poll and on the activity, with the reader’s own votes', async () => {
      const { client, poll, activity } = await setup('pia')
      assert.equal(activity.poll?.id, poll.id)
      const [red, blue] = poll.options
      await client.castPollVote({ poll_id: poll.id, activity_id: activity.id, vote: { option_id: red.id } })
      await client.castPollVote({ poll_id: poll.id, activity_id: activity.id, vote: { option_id: blue.id } })
      const ola = await s.connect('ola')
      await ola.castPollVote({ poll_id: poll.id, activity_id: activity.id, vote: { option_id: red.id } })
      const read = await client.getActivity({ id: activity.id })
      assert.equal(read.activity.poll?.vote_count, 3)
      assert.deepEqual(read.activity.poll?.vote_counts_by_option, {
        [red.id]: 2,
        [blue.id]: 1,
        [poll.options[2].id]: 0,
      })
      assert.deepEqual(read.activity.poll?.own_votes.map((v) => v.option_id).sort(), [red.id, blue.id].sort())
      const { poll: got } = await ola.getPoll({ poll_id: poll.id })
      assert.deepEqual(
        got.own_votes.map((v) => v.option_id),
        [red.id],
      )
    })

    it('enforce_unique_vote replaces a vote, max_votes_allowed caps them, a closed poll takes none', async () => {
      const unique = await setup('uma', { enforce_unique_vote: true })
      const [a, b] = unique.poll.options
      const ids = { poll_id: unique.poll.id, activity_id: unique.activity.id }
      await unique.client.castPollVote({ ...ids, vote: { option_id: a.id } })
      await unique.client.castPollVote({ ...ids, vote: { option_id: b.id } })
      const { poll } = await unique.client.getPoll({ poll_id: unique.poll.id })
      assert.equal(poll.vote_count, 1)
      assert.deepEqual(
        poll.own_votes.map((v) => v.option_id),
        [b.id],
      )

      const capped = await setup('max', { max_votes_allowed: 2 })
      const cap = { poll_id: capped.poll.id, activity_id: capped.activity.id }
      await capped.client.castPollVote({ ...cap, vote: { option_id: capped.poll.options[0].id } })
      await capped.client.castPollVote({ ...cap, vote: { option_id: capped.poll.options[1].id } })
      await assert.rejects(
        capped.client.castPollVote({ ...cap, vote: { option_id: capped.poll.options[2].id } }),
        code(4),
      )
      await capped.client.closePoll({ poll_id: capped.poll.id })
      const late = await s.connect('late')
      await assert.rejects(
        late.castPollVote({ ...cap, vote: { option_id: capped.poll.options[0].id } }),
        code(4),
      )
      await assert.rejects(late.castPollVote({ ...cap, vote: { option_id: 'no-such-option' } }), code(4))
    })

    it("refuses votes as another user, removing another's vote, changing or deleting another's poll", async () => {
      const { client, poll, activity } = await setup('own')
      const ids = { poll_id: poll.id, activity_id: activity.id }
      const { vote } = await client.castPollVote({ ...ids, vote: { option_id: poll.options[0].id } })
      const eve = await s.connect('eve')
      // The client sends no user_id with a vote; a hand-made request naming another user is refused.
      const forged = await fetch(
        `${s.base}/api/v2/feeds/activities/${activity.id}/polls/${poll.id}/vote?api_key=${KEY}`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'stream-auth-type': 'jwt',
            authorization: s.server.generateUserToken({ user_id: 'eve' }),
          },
          body: JSON.stringify({ user_id: 'own', vote: { option_id: poll.options[1].id } }),
        },
      )
      assert.equal(forged.status, 403)
      assert.equal(((await forged.json()) as { code: number }).code, 17)
      await assert.rejects(eve.deletePollVote({ ...ids, vote_id: vote?.id as string }), code(16))
      await assert.rejects(eve.updatePollPartial({ poll_id: poll.id, set: { name: 'mine' } }), code(16))
      await assert.rejects(eve.deletePoll({ poll_id: poll.id }), code(16))
      await assert.rejects(eve.createPollOption({ poll_id: poll.id, text: 'Black' }), code(16))
      // A poll the activity does not carry cannot be voted on through it.
      const other = await eve.createPoll({ name: 'x', options: [{ text: 'y' }] })
      await assert.rejects(
        eve.castPollVote({
          poll_id: other.poll.id,
          activity_id: activity.id,
          vote: { option_id: other.poll.options[0].id },
        }),
        code(16),
      )
      await assert.rejects(
        eve.createPoll({ name: 'big', options: Array.from({ length: 101 }, (_, i) => ({ text: `o${i}` })) }),
        code(4),
      )
      await assert.rejects(eve.createPoll({ name: 'x'.repeat(1001) }), code(4))
      const { poll: after } = await client.getPoll({ poll_id: poll.id })
      assert.equal(after.name, 'Colour?')
      assert.equal(after.vote_count, 1)
      assert.equal(after.options.length, 3)
      await client.deletePollVote({ ...ids, vote_id: vote?.id as string })
      await client.deletePoll({ poll_id: poll.id })
      await assert.rejects(client.getPoll({ poll_id: poll.id }), code(16))
    })
  })
}
