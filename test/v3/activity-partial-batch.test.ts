/**
 * Feeds V3 UpdateActivitiesPartialBatch through Stream's SDKs on every store: each change is
 * checked as UpdateActivityPartial checks one; activities not found or not the caller's are
 * skipped (left out of the answer, unchanged), an invalid change fails the whole batch before
 * anything is written. Attacks: other users' activities, oversize and empty batches, the same
 * activity twice, prototype keys.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { raw, sign } from './attacker.js'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4: bad input). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3apb')) {
  describe(`Feeds V3 UpdateActivitiesPartialBatch (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    /** A post by `user` in its user feed. */
    const post = async (user: string, text: string, custom: Record<string, unknown> = {}) => {
      await s.server.feeds.feed('user', user).getOrCreate({ user_id: user })
      const { activity } = await s.server.feeds.addActivity({
        user_id: user,
        feeds: [`user:${user}`],
        type: 'post',
        text,
        custom,
      })
      return activity.id
    }
    const batch = (token: string, changes: unknown[]) =>
      raw(s, 'PATCH', '/feeds/activities/batch/partial', token, { changes })
    const textOf = async (id: string) => (await s.server.feeds.getActivity({ id })).activity.text

    it('changes each named activity; unknown ones are skipped', async () => {
      const one = await post('pb-amy', 'one', { mood: 'ok', topic: 'x' })
      const two = await post('pb-bob', 'two')
      const amy = await s.connect('pb-amy')
      const feed = amy.feed('user', 'pb-amy')
      await feed.getOrCreate({ watch: true })
      const heard = nextEvent(amy, 'feeds.activity.updated')
      const { activities } = await s.server.feeds.updateActivitiesPartialBatch({
        changes: [
          { activity_id: one, set: { text: 'uno', custom: { mood: 'good' } }, unset: ['custom.topic'] },
          { activity_id: 'no-such-activity', set: { text: 'ghost' } },
          { activity_id: two, set: { text: 'dos' } },
        ],
      })
      assert.deepEqual(
        activities.map((a) => [a.id, a.text]),
        [
          [one, 'uno'],
          [two, 'dos'],
        ],
      )
      assert.deepEqual(activities[0].custom, { mood: 'good' })
      assert.equal(((await heard) as { activity?: { id: string } }).activity?.id, one)
    })

    it("a user token changes only its own activities; others' are skipped and unchanged", async () => {
      const mine = await post('pb-cat', 'mine')
      const theirs = await post('pb-dan', 'theirs')
      // The feeds-client has no call for it (the spec's server side lists it): a raw user call.
      const answer = await batch(await sign({ user_id: 'pb-cat' }), [
        { activity_id: mine, set: { text: 'mine, edited' } },
        { activity_id: theirs, set: { text: 'pwned' } },
      ])
      assert.equal(answer.status, 200)
      assert.deepEqual(
        (answer.body.activities as { id: string }[]).map((a) => a.id),
        [mine],
      )
      assert.equal(await textOf(theirs), 'theirs')
      assert.equal(await textOf(mine), 'mine, edited')
    })

    it('an invalid change fails the whole batch before anything is written', async () => {
      const id = await post('pb-eve', 'before')
      const other = await post('pb-eve', 'other')
      for (const bad of [
        { activity_id: other, set: { id: 'stolen' } },
        { activity_id: other, set: { user_id: 'pb-amy' } },
        { activity_id: other, unset: ['text.__proto__'] },
        { activity_id: other, set: { custom: 'not an object' } },
      ]) {
        await assert.rejects(
          s.server.feeds.updateActivitiesPartialBatch({
            changes: [{ activity_id: id, set: { text: 'after' } }, bad],
          }),
          code(4),
          JSON.stringify(bad),
        )
      }
      assert.equal(await textOf(id), 'before')
    })

    it('refuses oversize, empty and repeated batches and prototype keys', async () => {
      const id = await post('pb-fay', 'kept')
      const token = await sign({ user_id: 'pb-fay' })
      const many = Array.from({ length: 101 }, () => ({ activity_id: id, set: { text: 'x' } }))
      assert.equal((await batch(token, many)).status, 400)
      assert.equal((await batch(token, [])).status, 400)
      const twice = [
        { activity_id: id, set: { text: 'a' } },
        { activity_id: id, set: { text: 'b' } },
      ]
      assert.equal((await batch(token, twice)).status, 400)
      for (const change of [
        JSON.parse(`{"activity_id": "${id}", "set": {"__proto__": {"polluted": true}}}`),
        JSON.parse(`{"activity_id": "${id}", "set": {"custom": {"__proto__": {"polluted": true}}}}`),
        null,
      ]) {
        const answer = await batch(token, [change])
        assert.ok(answer.status === 400 || answer.status === 200, JSON.stringify(answer.body))
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      assert.equal(await textOf(id), 'kept')
    })
  })
}
