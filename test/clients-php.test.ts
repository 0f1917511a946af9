/**
 * stream-php's request shapes, pinned in CI (Composer packages are not among the registries CI
 * reaches; 8.0.0's own integration tests were run by hand against `eddy serve`, see
 * docs/server.md). As stream-php sends them: follows with `activity_copy_limit: 300` and a legacy
 * feed signature as `target_token`, `to` targets signed the same way, collections upsert and select
 * at `meta/`, `keep_history=true`, and batch calls authenticated by an HTTP Signature, which Eddy
 * refuses because it does not cover the body.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { KEY, openWire, PHP, phpSignature, SECRET, scope, type Wire } from './fixtures/client-wire.js'

let wire: Wire
const t = (resource: string, action: string, feed: string) => scope(resource, action, feed.replace(':', ''))

before(async () => {
  wire = await openWire(PHP)
})
after(() => wire.close())

describe('stream-php', () => {
  it('follows with a legacy target signature and adds with legacy-signed to targets', async () => {
    const follow = await wire.send('POST', 'feed/timeline/php-a/follows/', {
      token: await t('follower', 'write', 'timeline:php-a'),
      body: { target: 'user:php-b', activity_copy_limit: 300, target_token: phpSignature('userphp-b') },
    })
    assert.equal(follow.status, 200, JSON.stringify(follow.body))
    const add = await wire.send('POST', 'feed/user/php-b/', {
      token: await t('feed', 'write', 'user:php-b'),
      body: {
        actor: 'php-b',
        verb: 'post',
        object: 'o',
        to: [`notification:php-n ${phpSignature('notificationphp-n')}`],
      },
    })
    assert.equal(add.status, 200, JSON.stringify(add.body))
    assert.deepEqual(add.body.to, ['notification:php-n'])
    const timeline = await wire.send('GET', 'feed/timeline/php-a/', {
      token: await t('feed', 'read', 'timeline:php-a'),
    })
    assert.equal(timeline.body.results[0].id, add.body.id)
    const forged = await wire.send('POST', 'feed/user/php-b/', {
      token: await t('feed', 'write', 'user:php-b'),
      body: {
        actor: 'php-b',
        verb: 'post',
        object: 'o',
        to: [`notification:php-n ${phpSignature('notificationphp-other')}`],
      },
    })
    assert.equal(forged.status, 401)
    const unfollow = await wire.send('DELETE', 'feed/timeline/php-a/follows/user:php-b/', {
      token: await t('follower', 'delete', 'timeline:php-a'),
      query: { keep_history: 'true' },
    })
    assert.equal(unfollow.status, 200)
  })

  it('collections: upsert and select at meta/ (their older name)', async () => {
    const token = await scope('collections', '*', '*')
    const upsert = await wire.send('POST', 'meta/', {
      token,
      body: { data: { food: [{ id: 'cheese-burger', name: 'Cheese Burger' }] } },
    })
    assert.equal(upsert.status, 200, JSON.stringify(upsert.body))
    const select = await wire.send('GET', 'meta/', {
      token,
      query: { foreign_ids: 'food:cheese-burger,food:124' },
    })
    assert.equal(select.status, 200, JSON.stringify(select.body))
    assert.deepEqual(
      select.body.response.data.map((e) => e.foreign_id),
      ['food:cheese-burger'],
    )
  })

  it('batch calls signed with an HTTP Signature are refused with a 401 saying why (the body is not signed)', async () => {
    // Signer::signRequest: HMAC-SHA256 of "(request-target): post <path>\ndate: <Date>" with the secret.
    const target = `/api/v1.0/follow_many/?api_key=${KEY}`
    const signature = createHmac('sha256', SECRET)
      .update(`(request-target): post ${target}\ndate: `)
      .digest('base64')
    const header = `Signature keyId="${KEY}",algorithm="hmac-sha256",headers="(request-target) date",signature="${signature}"`
    const res = await wire.send('POST', 'follow_many/', {
      token: header,
      body: [{ source: 'timeline:php-x', target: 'user:php-y' }],
    })
    assert.equal(res.status, 401)
    assert.equal(res.body.code, 3)
    assert.match(res.body.detail, /HTTP Signature authentication is not accepted/)
    const following = await wire.send('GET', 'feed/timeline/php-x/follows/', {
      token: await t('follower', 'read', 'timeline:php-x'),
    })
    assert.deepEqual(following.body.results, [])
  })
})
