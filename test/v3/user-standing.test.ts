/**
 * Feeds V3 user administration through Stream's SDKs from npm, on every store: DeactivateUser(s)
 * and ReactivateUser(s) (a deactivated user's tokens are refused over HTTP and the WebSocket, its
 * open connections are closed, QueryUsers leaves it out unless asked), the batch calls' tasks read
 * back with GetTask, and blocks. Written as the attacker too: only the app deactivates, and a user
 * token blocks only as itself.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { closed, nextMessage, openSocket, raw, type V3Error } from './attacker.js'
import { KEY, startV3, type V3Server, v3Stores } from './harness.js'

/** A WebSocket message, as far as these tests read it. */
type Message = { type: string; error?: V3Error }

for (const store of await v3Stores('v3standing')) {
  describe(`Feeds V3 user standing (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    const token = (id: string) => s.server.generateUserToken({ user_id: id })
    /** A raw V3 call as `auth` (a token). */
    const call = (method: string, path: string, auth: string, body?: unknown) =>
      raw(s, method, path, auth, body)
    /** Opens the WebSocket as `id`: its first answer, every message, and its close. */
    const socket = async (id: string) => {
      const ws = await openSocket(s)
      const messages: Message[] = []
      const done = closed(ws)
      const first = nextMessage<Message>(ws)
      ws.on('message', (m) => messages.push(JSON.parse(String(m)) as Message))
      ws.send(JSON.stringify({ token: token(id), user_details: { id } }))
      return { first: await first, closed: done, messages }
    }

    before(async () => {
      s = await startV3(store)
      await s.server.upsertUsers([
        { id: 'st-ann', name: 'Ann' },
        { id: 'st-bob', name: 'Bob' },
        { id: 'st-cy', name: 'Cy' },
        { id: 'st-dee', name: 'Dee' },
      ])
    })
    after(() => s.close())

    it('deactivates a user: its tokens are refused over HTTP and the WebSocket until it is reactivated', async () => {
      const open = await socket('st-ann')
      assert.equal(open.first.type, 'connection.ok')
      const { user } = await s.server.deactivateUser({ user_id: 'st-ann', created_by_id: 'st-bob' })
      assert.equal(user?.id, 'st-ann')
      assert.ok(user?.deactivated_at, 'the answer says when')
      // The open connection hears why and is closed.
      await open.closed
      assert.deepEqual(
        open.messages.map((m) => [m.type, m.error?.code]),
        [
          ['connection.ok', undefined],
          ['connection.error', 17],
        ],
      )

      const refused = await call('GET', '/feeds/activities/none', token('st-ann'))
      assert.equal(refused.status, 403)
      assert.equal(refused.body.code, 17)
      assert.match(refused.body.message, /st-ann is deactivated.*ReactivateUser/)
      // The same token on V1's API (one engine, one user).
      const v1 = await fetch(`${s.base}/api/v1.0/feed/user/st-ann/?api_key=${KEY}`, {
        headers: { authorization: token('st-ann'), 'stream-auth-type': 'jwt' },
      })
      assert.equal(v1.status, 403)
      assert.match(((await v1.json()) as { detail: string }).detail, /st-ann is deactivated/)
      const again = await socket('st-ann')
      assert.equal(again.first.type, 'connection.error')
      assert.equal(again.first.error?.code, 17)
      await again.closed

      // Left out of QueryUsers unless asked for.
      const q = async (include?: boolean) =>
        (
          await s.server.queryUsers({
            payload: { filter_conditions: { id: 'st-ann' }, include_deactivated_users: include },
          })
        ).users.map((u) => [u.id, Boolean(u.deactivated_at)])
      assert.deepEqual(await q(), [])
      assert.deepEqual(await q(true), [['st-ann', true]])

      const back = await s.server.reactivateUser({ user_id: 'st-ann', name: 'Ann Again' })
      assert.equal(back.user?.deactivated_at, undefined)
      assert.equal(back.user?.name, 'Ann Again')
      assert.equal((await call('GET', '/feeds/activities/none', token('st-ann'))).body.code, 16)
      const v1Back = await fetch(`${s.base}/api/v1.0/feed/user/st-ann/?api_key=${KEY}`, {
        headers: { authorization: token('st-ann'), 'stream-auth-type': 'jwt' },
      })
      assert.equal(v1Back.status, 200)
      const client = await s.connect('st-ann')
      assert.equal(client.state.getLatestValue().connected_user?.id, 'st-ann')
      assert.deepEqual(await q(), [['st-ann', false]])
    })

    it('deactivates and reactivates users in batches, each answered with a task GetTask reads', async () => {
      const { task_id } = await s.server.deactivateUsers({ user_ids: ['st-cy', 'st-dee', 'st-cy'] })
      const task = await s.server.getTask({ id: task_id })
      assert.equal(task.task_id, task_id)
      assert.equal(task.status, 'completed')
      assert.deepEqual(task.result, { user_ids: ['st-cy', 'st-dee'] })
      for (const id of ['st-cy', 'st-dee'])
        assert.equal((await call('GET', '/feeds/activities/none', token(id))).status, 403)

      const reactivated = await s.server.reactivateUsers({ user_ids: ['st-cy', 'st-dee'] })
      assert.equal((await s.server.getTask({ id: reactivated.task_id })).status, 'completed')
      for (const id of ['st-cy', 'st-dee'])
        assert.equal((await call('GET', '/feeds/activities/none', token(id))).status, 404)

      // DeleteUsers' task is a real one too.
      await s.server.upsertUsers([{ id: 'st-gone' }])
      const deleted = await s.server.deleteUsers({ user_ids: ['st-gone'] })
      assert.deepEqual((await s.server.getTask({ id: deleted.task_id })).result, {
        deleted_user_ids: ['st-gone'],
      })
    })

    it('refuses a batch naming a user that does not exist, an empty one and one too long, changing nothing', async () => {
      await assert.rejects(s.server.deactivateUsers({ user_ids: ['st-bob', 'st-nobody'] }), /st-nobody/)
      assert.equal((await call('GET', '/feeds/activities/none', token('st-bob'))).status, 404)
      await assert.rejects(s.server.deactivateUsers({ user_ids: [] }), /user_ids must be a list of 1 to 100/)
      const many = Array.from({ length: 101 }, (_, i) => `st-${i}`)
      await assert.rejects(s.server.reactivateUsers({ user_ids: many }), /1 to 100/)
      await assert.rejects(s.server.deactivateUser({ user_id: 'st-nobody' }), /do not exist/)
      await assert.rejects(s.server.getTask({ id: 'no-such-task' }), /task no-such-task does not exist/)
    })

    it('lets only the app deactivate, reactivate and read tasks', async () => {
      const bob = token('st-bob')
      for (const [method, path, body] of [
        ['POST', '/users/st-cy/deactivate', {}],
        ['POST', '/users/st-bob/deactivate', {}],
        ['POST', '/users/deactivate', { user_ids: ['st-cy'] }],
        ['POST', '/users/reactivate', { user_ids: ['st-bob'] }],
        ['POST', '/users/st-bob/reactivate', {}],
        ['GET', '/tasks/anything', undefined],
      ] as const) {
        const r = await call(method, path, bob, body)
        assert.equal(r.status, 403, `${method} ${path}`)
        assert.equal(r.body.code, 17)
      }
      assert.equal((await call('GET', '/feeds/activities/none', token('st-cy'))).status, 404)
    })

    it('blocks and unblocks users, as the user itself or named by the app', async () => {
      const ann = await s.connect('st-ann')
      const blocked = await ann.blockUsers({ blocked_user_id: 'st-bob' })
      assert.equal(blocked.blocked_by_user_id, 'st-ann')
      assert.equal(blocked.blocked_user_id, 'st-bob')
      // Blocking again keeps the first block.
      const twice = await ann.blockUsers({ blocked_user_id: 'st-bob' })
      assert.equal(new Date(twice.created_at).getTime(), new Date(blocked.created_at).getTime())
      await s.server.blockUsers({ user_id: 'st-ann', blocked_user_id: 'st-cy' })
      const listed = await ann.getBlockedUsers()
      assert.deepEqual(
        listed.blocks.map((b) => [b.user_id, b.blocked_user_id, b.blocked_user.name]),
        [
          ['st-ann', 'st-bob', 'Bob'],
          ['st-ann', 'st-cy', 'Cy'],
        ],
      )
      // The blocker's own user, as its next connection shows it.
      const again = await s.connect('st-ann')
      assert.deepEqual(again.state.getLatestValue().connected_user?.blocked_user_ids, ['st-bob', 'st-cy'])
      await ann.unblockUsers({ blocked_user_id: 'st-bob' })
      const left = await s.server.getBlockedUsers({ user_id: 'st-ann' })
      assert.deepEqual(
        left.blocks.map((b) => b.blocked_user_id),
        ['st-cy'],
      )
      await assert.rejects(ann.blockUsers({ blocked_user_id: 'st-ann' }), /cannot block itself/)
      await assert.rejects(ann.blockUsers({ blocked_user_id: 'st-nobody' }), /st-nobody does not exist/)
      await assert.rejects(s.server.blockUsers({ blocked_user_id: 'st-bob' }), /user_id must name/)
    })

    it('never lets a user token block, unblock or list blocks as another user', async () => {
      await s.server.blockUsers({ user_id: 'st-cy', blocked_user_id: 'st-dee' })
      const bob = token('st-bob')
      const tries = [
        await call('POST', '/users/block', bob, { user_id: 'st-cy', blocked_user_id: 'st-ann' }),
        await call('POST', '/users/block', bob, { user: { id: 'st-cy' }, blocked_user_id: 'st-ann' }),
        await call('POST', '/users/unblock', bob, { user_id: 'st-cy', blocked_user_id: 'st-dee' }),
        await call('GET', '/users/block?user_id=st-cy', bob),
      ]
      for (const r of tries) assert.deepEqual([r.status, r.body.code], [403, 17])
      const kept = await s.server.getBlockedUsers({ user_id: 'st-cy' })
      assert.deepEqual(
        kept.blocks.map((b) => b.blocked_user_id),
        ['st-dee'],
      )
      // Bob's own list stays his: empty.
      assert.deepEqual((await call('GET', '/users/block', bob)).body.blocks, [])
    })
  })
}
