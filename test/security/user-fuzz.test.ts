/**
 * A fuzz pass as an attacker with a user token: generated partial updates, to-target changes,
 * batch adds, removals and follows aimed at other users' activities and feeds, with forged
 * foreign_id + time pairs, actors and prototype paths. Whatever is accepted or refused, no other
 * user's data may change, no call may be a 5xx, and Object.prototype stays clean.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { prng } from '../fixtures/attack.js'

const KEY = 'ufuzz-key'
const SECRET = 'ufuzz-secret'
const VICTIMS = ['alice', 'bob']
const SLUGS = ['user', 'timeline', 'timeline_aggregated', 'notification']
const TIMES = ['2026-11-20T12:00:00.000000', '2026-11-20T12:01:00.000000', '2026-11-20T12:02:00.000000']
const ROUNDS = 400

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
}

describe('a user token fuzzing other users’ data', () => {
  let app: FastifyInstance
  let admin: string
  let mallory: string
  const ids: string[] = []
  const pairs: { foreign_id: string; time: string }[] = []
  const own: string[] = []

  const call = async (token: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const sep = path.includes('?') ? '&' : '?'
    const res = await app.inject({
      method,
      url: `/api/v1.0/${path}${sep}api_key=${KEY}`,
      headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      payload: body === undefined ? undefined : JSON.stringify(body),
    })
    return res
  }

  /** Every victim feed (page of 100) and every victim activity body, as the server sees them. */
  const snapshot = async () => {
    const out: Record<string, unknown> = {}
    for (const user of VICTIMS) {
      for (const slug of SLUGS) {
        const res = await call(admin, 'GET', `feed/${slug}/${user}/?limit=100`)
        assert.equal(res.statusCode, 200, res.body)
        const page = res.json()
        // Notification counts may legitimately move only if the victim's own feed changed.
        delete page.duration
        out[`${slug}:${user}`] = page
      }
      const followers = await call(admin, 'GET', `feed/user/${user}/followers/?limit=100`)
      out[`followers:${user}`] = followers.json().results
    }
    const bodies = await call(admin, 'GET', `activities/?ids=${ids.join(',')}`)
    out.activities = bodies.json().results
    return out
  }

  before(async () => {
    app = createServer({ store: 'sqlite::memory:', apiKey: KEY, apiSecret: SECRET })
    admin = await sign({ resource: '*', action: '*', feed_id: '*' })
    mallory = await sign({ user_id: 'mallory' })
    for (const user of VICTIMS) {
      await call(admin, 'POST', `feed/timeline/${user}/follows/`, {
        target: `user:${VICTIMS.find((v) => v !== user)}`,
      })
      for (const [i, time] of TIMES.entries()) {
        const res = await call(admin, 'POST', `feed/user/${user}/`, {
          actor: `SU:${user}`,
          verb: i % 2 ? 'like' : 'post',
          object: `post:${user}:${i}`,
          foreign_id: `post:${user}:${i}`,
          time,
          text: 'original',
          meta: { tags: ['a'] },
          to: [`notification:${VICTIMS.find((v) => v !== user)}`],
        })
        assert.equal(res.statusCode, 201 > res.statusCode ? res.statusCode : 200, res.body)
        ids.push(res.json().id)
        pairs.push({ foreign_id: `post:${user}:${i}`, time })
      }
    }
    for (const i of [1, 2, 3]) {
      const res = await call(mallory, 'POST', 'feed/user/mallory/', {
        verb: 'post',
        object: `mine:${i}`,
        text: 'x',
      })
      own.push(res.json().id)
    }
    // Mallory follows everyone, so copies of the victims' activities sit in her own feeds.
    for (const user of VICTIMS) {
      await call(mallory, 'POST', 'feed/timeline/mallory/follows/', { target: `user:${user}` })
    }
  })
  after(() => app.close())

  it(`leaves every other user's data unchanged after ${ROUNDS} generated attacks`, async () => {
    const before = await snapshot()
    const random = prng(8)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]
    const feed = () => `${pick([...SLUGS, 'user'])}:${pick([...VICTIMS, 'mallory', 'carol'])}`
    const path = () =>
      pick([
        'text',
        'meta.tags',
        'actor',
        'actor.id',
        '__proto__.polluted',
        'constructor.prototype.polluted',
        'a.__proto__',
        'verb',
        'to',
        'time',
      ])
    const value = () => pick<unknown>(['PWNED', 'SU:alice', 1, null, { nested: { x: 1 } }, ['x'], '*'])
    const target = () => pick(ids)
    const pair = () => pick(pairs)
    const statuses = new Map<number, number>()

    for (let round = 0; round < ROUNDS; round++) {
      const kind = Math.floor(random() * 6)
      let res: Awaited<ReturnType<typeof call>>
      if (kind === 0) {
        const r = random()
        const by = r < 0.4 ? { id: target() } : r < 0.8 ? pair() : { id: pick(own) }
        res = await call(mallory, 'POST', 'activity/', {
          changes: [{ ...by, set: { [path()]: value() }, ...(random() < 0.3 ? { unset: [path()] } : {}) }],
        })
      } else if (kind === 1) {
        const [slug, user] = pick([
          ['timeline', 'mallory'],
          ['user', 'mallory'],
          ['notification', 'mallory'],
          ...VICTIMS.map((v) => ['user', v]),
        ])
        const p = pair()
        const targets = Array.from({ length: 1 + Math.floor(random() * 3) }, feed)
        res = await call(mallory, 'POST', `feed_targets/${slug}/${user}/activity_to_targets/`, {
          ...p,
          ...(random() < 0.5
            ? { new_targets: targets }
            : { added_targets: targets, removed_targets: [feed()] }),
        })
      } else if (kind === 2) {
        const p = pair()
        const forged = {
          actor: pick(['SU:mallory', 'SU:alice', undefined, 'mallory']),
          verb: 'post',
          object: 'forged',
          ...p,
          text: 'PWNED',
          to: random() < 0.5 ? [feed()] : undefined,
        }
        res = await call(mallory, 'POST', 'feed/user/mallory/', {
          activities: [{ actor: 'SU:mallory', verb: 'post', object: `own:${round}` }, forged],
        })
      } else if (kind === 3) {
        const [slug, user] = feed().split(':')
        res = await call(mallory, 'DELETE', `feed/${slug}/${user}/${target()}/`)
      } else if (kind === 4) {
        const [slug, user] = feed().split(':')
        res = await call(mallory, 'POST', `feed/${slug}/${user}/follows/`, { target: 'user:mallory' })
      } else {
        res = await call(mallory, 'POST', 'activities/', {
          activities: [{ actor: 'SU:mallory', verb: 'post', object: 'x', ...pair(), text: 'PWNED' }],
        })
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      assert.ok(res.statusCode < 500, `round ${round}: ${res.statusCode} ${res.body}`)
    }
    assert.deepEqual(await snapshot(), before)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    // The pass exercised both refusals and accepted calls on Mallory's own data.
    assert.ok((statuses.get(403) ?? 0) > 50, JSON.stringify([...statuses]))
    assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 15, JSON.stringify([...statuses]))
  })
})
