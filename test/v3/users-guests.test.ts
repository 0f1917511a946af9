/**
 * Feeds V3 users, guests and anonymous visitors through Stream's SDKs from npm, on every store:
 * QueryUsers' filters, sort and paging, CreateGuest (connectGuest) and connectAnonymous, and what
 * a guest or an anonymous caller may not do (take over a user, choose a role, write).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KEY, startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3users')) {
  describe(`Feeds V3 users and guests (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
      await s.server.upsertUsers([
        { id: 'qa-ann', name: 'Ann Lee', custom: { color: 'red', age: 30 } },
        { id: 'qa-bob', name: 'Bob Stone', custom: { color: 'blue', age: 40 } },
        { id: 'qa-cy', name: 'Cy Annex', custom: { color: 'red', age: 50 } },
      ])
    })
    after(() => s.close())

    const ids = (users: { id: string }[]) => users.map((u) => u.id).filter((id) => id.startsWith('qa-'))

    it('queries users by custom field, text prefix, range and $or, sorted and paged', async () => {
      const q = async (filter_conditions: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        ids((await s.server.queryUsers({ payload: { filter_conditions, ...extra } })).users)
      assert.deepEqual(await q({ 'custom.color': 'red' }), ['qa-ann', 'qa-cy'])
      assert.deepEqual(await q({ color: 'blue' }), ['qa-bob'])
      assert.deepEqual(await q({ name: { $autocomplete: 'ann' } }), ['qa-ann', 'qa-cy'])
      assert.deepEqual(await q({ 'custom.age': { $gte: 40 } }), ['qa-bob', 'qa-cy'])
      assert.deepEqual(await q({ $or: [{ id: 'qa-ann' }, { 'custom.age': { $gt: 45 } }] }), [
        'qa-ann',
        'qa-cy',
      ])
      assert.deepEqual(
        await q(
          { role: 'user', id: { $in: ['qa-ann', 'qa-bob', 'qa-cy'] } },
          {
            sort: [{ field: 'name', direction: -1 }],
            limit: 2,
            offset: 1,
          },
        ),
        ['qa-bob', 'qa-ann'],
      )
    })

    it('answers a missing payload and an unknown operator with V3 errors', async () => {
      await assert.rejects(s.server.queryUsers(), (err: Error) =>
        err.message.endsWith('QueryUsers failed with error: "invalid json data"'),
      )
      await assert.rejects(
        s.server.queryUsers({ payload: { filter_conditions: { name: { $where: 'x' } } } }),
        /unknown filter operator \$where/,
      )
    })

    it('connects a guest: a new user of role guest with its own token', async () => {
      const { FeedsClient } = await import('@stream-io/feeds-client')
      const client = new FeedsClient(KEY, { base_url: s.base, timeout: 5000 })
      const guest = await client.connectGuest({ user: { id: 'visitor', name: 'Visitor' } })
      assert.equal(guest.user.id, 'visitor')
      assert.equal(guest.user.role, 'guest')
      assert.equal(client.state.getLatestValue().connected_user?.id, 'visitor')
      const { users } = await client.queryUsers({ payload: { filter_conditions: { role: 'guest' } } })
      assert.deepEqual(
        users.map((u) => [u.id, u.role, u.name]),
        [['visitor', 'guest', 'Visitor']],
      )
      // The guest posts to its own feed, as any user.
      const feed = client.feed('user', 'visitor')
      await feed.getOrCreate({})
      await client.addActivity({ feeds: [feed.feed], type: 'post', text: 'hi from a guest' })
      await client.disconnectUser()
    })

    it('never hands a guest an existing user: a taken id gets a suffix, and a role is not chosen', async () => {
      const { FeedsClient } = await import('@stream-io/feeds-client')
      const client = new FeedsClient(KEY, { base_url: s.base, timeout: 5000 })
      // The client's type has no role; an attacker sends one anyway.
      const user = { id: 'qa-ann', name: 'Mallory', role: 'admin' } as { id: string; name: string }
      const guest = await client.createGuest({ user })
      assert.match(guest.user.id, /^qa-ann-[0-9a-f]{8}$/)
      assert.equal(guest.user.role, 'guest')
      const { users } = await s.server.queryUsers({
        payload: { filter_conditions: { id: { $in: ['qa-ann', guest.user.id] } } },
      })
      const byId = new Map(users.map((u) => [u.id, u]))
      assert.equal(byId.get('qa-ann')?.name, 'Ann Lee')
      assert.equal(byId.get('qa-ann')?.role, 'user')
      assert.equal(byId.get(guest.user.id)?.role, 'guest')
      // The guest's token acts as the guest only.
      const asGuest = await fetch(`${s.base}/api/v2/users?api_key=${KEY}`, {
        method: 'POST',
        headers: {
          authorization: guest.access_token,
          'stream-auth-type': 'jwt',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ users: { 'qa-ann': { id: 'qa-ann', name: 'Hijacked' } } }),
      })
      assert.equal(asGuest.status, 403)
      const [ann] = (await s.server.queryUsers({ payload: { filter_conditions: { id: 'qa-ann' } } })).users
      assert.equal(ann?.name, 'Ann Lee')
    })

    it('lets an anonymous client read users but write nothing', async () => {
      const { FeedsClient } = await import('@stream-io/feeds-client')
      const client = new FeedsClient(KEY, { base_url: s.base, timeout: 5000 })
      await client.connectAnonymous()
      assert.ok((await client.queryUsers({ payload: { filter_conditions: {} } })).users.length > 0)
      await assert.rejects(
        client.addActivity({ feeds: ['user:qa-ann'], type: 'post', text: 'anonymous' }),
        /code 17/,
      )
      await assert.rejects(
        client.updateUsers({ users: { 'qa-bob': { id: 'qa-bob', name: 'Anon' } } }),
        /code 17/,
      )
      const anon = { 'stream-auth-type': 'anonymous', 'content-type': 'application/json' }
      const deleted = await fetch(`${s.base}/api/v2/users/delete?api_key=${KEY}`, {
        method: 'POST',
        headers: anon,
        body: JSON.stringify({ user_ids: ['qa-bob'] }),
      })
      assert.equal(deleted.status, 403)
      // Without the app's key, not even a guest.
      const keyless = await fetch(`${s.base}/api/v2/guest?api_key=nope`, {
        method: 'POST',
        headers: anon,
        body: JSON.stringify({ user: { id: 'x' } }),
      })
      assert.equal(keyless.status, 401)
      await client.disconnectUser()
    })

    it('updates users partly: custom fields set and unset, concurrent changes both kept', async () => {
      await s.server.upsertUsers([{ id: 'qa-dee', name: 'Dee', custom: { a: 1 } }])
      const dee = await s.connect('qa-dee', 'Dee')
      await Promise.all([
        dee.updateUsersPartial({ users: [{ id: 'qa-dee', set: { color: 'green' } }] }),
        dee.updateUsersPartial({ users: [{ id: 'qa-dee', set: { custom: { b: 2 } }, unset: ['a'] }] }),
      ])
      const [read] = (await s.server.queryUsers({ payload: { filter_conditions: { id: 'qa-dee' } } })).users
      assert.deepEqual(read?.custom, { color: 'green', b: 2 })
      assert.equal(read?.name, 'Dee')
      await assert.rejects(
        dee.updateUsersPartial({ users: [{ id: 'qa-dee', set: { role: 'admin' } }] }),
        /code 17/,
      )
      await assert.rejects(
        dee.updateUsersPartial({ users: [{ id: 'qa-bob', set: { name: 'Not me' } }] }),
        /code 17/,
      )
      await assert.rejects(
        dee.updateUsersPartial({ users: [{ id: 'qa-dee', set: { teams: ['red'] } }] }),
        /does not store a user's teams/,
      )
      const { users } = await s.server.updateUsersPartial({
        users: [{ id: 'qa-dee', set: { role: 'moderator' } }],
      })
      assert.equal(users['qa-dee']?.role, 'moderator')
      const [again] = (await s.server.queryUsers({ payload: { filter_conditions: { role: 'moderator' } } }))
        .users
      assert.equal(again?.id, 'qa-dee')
    })
  })
}
