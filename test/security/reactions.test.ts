/**
 * Reactions as an attacker with an ordinary user token would try them through the official
 * client: reacting as someone else, changing or deleting someone else's reaction, restoring it,
 * targeting feeds it may not write, reading the audit log. Each is Stream's 403 and changes
 * nothing; a server token keeps full rights.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, StreamClient } from 'getstream'
import { forbidden } from '../fixtures/attack.js'
import { startStreamServer } from '../fixtures/stream-server.js'
import { must } from '../helpers.js'

const KEY = 'react-key'
const SECRET = 'react-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** An activity as these requests send it: a user token may leave the actor out (getstream's typings require one). */
function noActor(activity: Record<string, unknown>): NewActivity {
  return activity as unknown as NewActivity
}

/** An activity as a feed page shows it, with the fields these tests read. */
interface Shown {
  id: string
  actor: string
  foreign_id?: string
  reaction_counts?: Record<string, number>
}

describe('a user token cannot react for others or change their reactions', () => {
  let app: FastifyInstance
  let api: Api
  let alice: Api
  let mallory: Api
  let post: { id: string }
  let comment: { id: string }

  before(async () => {
    const started = await startStreamServer(KEY, SECRET, { store: 'sqlite::memory:' })
    app = started.app
    api = started.api
    alice = started.user('alice')
    mallory = started.user('mallory')
    await api.feed('timeline', 'alice').follow('user', 'alice')
    post = await alice.feed('user', 'alice').addActivity(noActor({ verb: 'post', object: 'post:1' }))
    comment = await alice.reactions.add('comment', post.id, { text: 'mine' }, { targetFeeds: ['user:alice'] })
  })
  after(() => app.close())

  /** Everything an attack could have changed: the comment, the counts, alice's feeds. */
  async function state() {
    const [read, reactions, timeline, notification, user] = await Promise.all([
      api.reactions.get(comment.id),
      api.reactions.filter({ activity_id: post.id, limit: 25 }),
      api.feed('timeline', 'alice').get(),
      api.feed('notification', 'alice').get(),
      api.feed('user', 'alice').get({ withReactionCounts: true, enrich: true }),
    ])
    return {
      comment: { ...read, duration: undefined },
      ids: reactions.results.map((r) => r.id),
      timeline: timeline.results.map((a) => a.id),
      notification: notification.results.length,
      counts: user.results.map((a) => (a as Shown).reaction_counts),
    }
  }

  it("refuses to update, delete, soft-delete or restore someone else's reaction", async () => {
    const before = await state()
    await forbidden(mallory.reactions.update(comment.id, { text: 'PWNED' }))
    await forbidden(
      mallory.reactions.update(comment.id, { text: 'PWNED' }, { targetFeeds: ['user:mallory'] }),
    )
    await forbidden(mallory.reactions.delete(comment.id))
    await forbidden(mallory.reactions.delete(comment.id, true))
    assert.deepEqual(await state(), before)
    await alice.reactions.delete(comment.id, true)
    await forbidden(mallory.reactions.restore(comment.id))
    await alice.reactions.restore(comment.id)
    assert.deepEqual((await state()).ids, before.ids)
  })

  it('refuses to react, or reply, as someone else', async () => {
    const before = await state()
    await forbidden(mallory.reactions.add('like', post.id, {}, { userId: 'alice' }))
    await forbidden(mallory.reactions.addChild('like', comment.id, {}, { userId: 'alice' }))
    assert.deepEqual(await state(), before)
  })

  it("refuses target feeds it may not write: others' user and timeline feeds, on add and update", async () => {
    const before = await state()
    await forbidden(mallory.reactions.add('like', post.id, {}, { targetFeeds: ['timeline:alice'] }))
    await forbidden(
      mallory.reactions.add('like', post.id, {}, { targetFeeds: ['user:mallory', 'user:alice'] }),
    )
    await forbidden(mallory.reactions.addChild('like', comment.id, {}, { targetFeeds: ['timeline:alice'] }))
    assert.deepEqual(await state(), before)
    // Its own user feed and others' notification feeds are allowed, as on Stream.
    const own = await mallory.reactions.add(
      'like',
      post.id,
      {},
      { targetFeeds: ['user:mallory', 'notification:alice'] },
    )
    const settled = await state()
    await forbidden(mallory.reactions.update(own.id, {}, { targetFeeds: ['timeline:alice'] }))
    assert.deepEqual(await state(), settled)
    assert.deepEqual((await api.reactions.get(own.id)).target_feeds, ['user:mallory', 'notification:alice'])
    await mallory.reactions.delete(own.id)
  })

  it("cannot take the feed slot of someone else's reaction activity before it is delivered", async () => {
    // The slot is foreign_id `reaction:<id>` at the reaction's created_at, both public.
    const like = await alice.reactions.add('like', post.id, {})
    const squat = {
      verb: 'like',
      object: 'x',
      foreign_id: `reaction:${like.id}`,
      time: like.created_at.slice(0, -1),
    }
    await assert.rejects(
      mallory.feed('user', 'mallory').addActivity(noActor(squat)),
      (e: { error?: { status_code: number; exception: string; detail: string } }) => {
        assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
        assert.equal(e.error?.exception, 'InputException')
        assert.match(
          must(e.error, 'the error body').detail,
          /foreign_id values starting with "reaction:" are reserved/,
        )
        return true
      },
    )
    await alice.reactions.update(like.id, {}, { targetFeeds: ['user:alice'] })
    const mallorys = await api.feed('user', 'mallory').get()
    assert.deepEqual(
      mallorys.results.map((a) => (a as Shown).foreign_id),
      [],
      "nothing of alice's in mallory's feed",
    )
    const alices = await api.feed('user', 'alice').get()
    assert.ok(
      alices.results.some(
        (a) => (a as Shown).foreign_id === `reaction:${like.id}` && (a as Shown).actor === 'SU:alice',
      ),
    )
    await alice.reactions.delete(like.id)
  })

  it('cannot restore its own reaction into feeds only a server token could target', async () => {
    const placed = await api.reactions.add(
      'like',
      post.id,
      {},
      { userId: 'mallory', targetFeeds: ['timeline:alice'] },
    )
    await mallory.reactions.delete(placed.id, true)
    await forbidden(mallory.reactions.restore(placed.id))
    const timeline = await api.feed('timeline', 'alice').get()
    assert.ok(
      !timeline.results.some((a) => (a as Shown).foreign_id === `reaction:${placed.id}`),
      'not delivered again',
    )
    await api.reactions.restore(placed.id)
    await api.reactions.delete(placed.id)
  })

  it('cannot read the audit log, which a server token can', async () => {
    await forbidden(mallory.auditLogs.filter({ user_id: 'alice' }))
    const { audit_logs } = await api.auditLogs.filter({ entity_type: 'reaction', entity_id: comment.id })
    assert.deepEqual(
      audit_logs.map((l) => [l.action, l.user_id]),
      [
        ['restored', 'alice'],
        ['soft_deleted', 'alice'],
        ['created', 'alice'],
      ],
    )
  })

  it('leaves a server token full rights over any reaction', async () => {
    const like = await api.reactions.add(
      'like',
      post.id,
      {},
      { userId: 'mallory', targetFeeds: ['timeline:alice'] },
    )
    await api.reactions.update(like.id, { by: 'server' }, { targetFeeds: [] })
    await api.reactions.delete(like.id)
  })
})
