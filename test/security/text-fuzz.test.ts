/**
 * A fuzz pass of NUL characters, lone UTF-16 surrogates and huge values across every route of
 * the server (read from Fastify's route table, so a new route is fuzzed without editing this
 * file) on every store: memory, SQLite, PostgreSQL, PostgreSQL + Redis. Each poisoned path
 * parameter, query parameter and body field is a 4xx with Stream's error shape, never a 500,
 * the same on every store; afterwards the seeded feeds are unchanged and new posts still fan out.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { SignJWT } from 'jose'
import { prng } from '../fixtures/attack.js'
import { everyStore } from '../fixtures/every-store.js'

const KEY = 'tfuzz-key'
const SECRET = 'tfuzz-secret'
const FEEDS = ['user/alice', 'timeline/bob', 'timeline_aggregated/bob', 'notification/bob']
/** Poison as JSON values: NUL, lone surrogates (high, low, reversed pair) and both at the end. */
const POISON = ['a\u0000b', '\ud800', 'x\udc00', '\udc00\ud800', 'ok\u0000']
/** The same in a URL: a NUL percent-encoded, and lone surrogates as their (invalid) UTF-8 bytes. */
const URL_POISON = ['a%00b', '%00', '%ED%A0%80', 'x%ED%B0%80']
const HUGE = 'h'.repeat(300_000)
const UNSERVED = /^\/api\/v1\.0\/(personalization|enrich\/personalization|moderation|data_privacy)\b/
const QUERY_KEYS = [
  'limit',
  'offset',
  'id_lt',
  'id_gte',
  'ranking',
  'ids',
  'foreign_ids',
  'timestamps',
  'foreign_id',
  'kind',
  'user_id',
  'activity_id',
  'filter',
  'with_activity_data',
  'withReactionCounts',
  'mark_read',
  'mark_seen',
  'followers',
  'following',
  'collection_name',
  'keep_history',
  'soft',
  'entity_type',
  'entity_id',
  'get_or_create',
]

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
}

/** Every (method, path template) of the server's API, read from its printed route tree. */
function apiRoutes(app: FastifyInstance): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line)
    if (!m) continue
    const depth = m[1].length / 4
    stack.length = depth
    // Fastify prints parametric siblings as one node (`/:id|:lookup`): the first name serves.
    const segment = m[2].replace(/:(\w+)(\|:\w+)+/g, ':$1')
    const path = (stack[depth - 1] ?? '') + segment
    stack[depth] = path
    for (const method of m[3].split(', ')) {
      // Health checks and the API's own documentation (the OpenAPI document, the docs page and
      // its static files) read nothing from the request.
      if (
        method === 'HEAD' ||
        method === 'OPTIONS' ||
        !path.startsWith('/api/v1.0/') ||
        path.includes('/health') ||
        path.startsWith('/api/v1.0/docs') ||
        path === '/api/v1.0/openapi.json'
      )
        continue
      out.push({ method, path })
    }
  }
  return out
}

const { stores: STORES } = await everyStore('tfuzz')

for (const kind of STORES) {
  describe(`NUL, surrogates and huge values on every route (${kind.name})`, { skip: kind.skip }, () => {
    let client: EddyClient
    let app: FastifyInstance
    let admin: string
    let alice: string
    let activityId = ''
    let reactionId = ''
    const q = (extra = '') => `?api_key=${KEY}${extra ? `&${extra}` : ''}`
    const call = (token: string, method: string, path: string, payload?: unknown) =>
      app.inject({
        method: method as InjectOptions['method'],
        url: `/api/v1.0/${path}${path.includes('?') ? `&api_key=${KEY}` : q()}`,
        headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
        payload: payload === undefined ? undefined : JSON.stringify(payload),
      })

    const snapshot = async () => {
      const out: Record<string, unknown> = {}
      for (const feed of FEEDS) {
        const res = await call(admin, 'GET', `feed/${feed}/?limit=100`)
        assert.equal(res.statusCode, 200, res.body)
        const { duration, ...rest } = res.json()
        out[feed] = rest
      }
      return out
    }

    before(async () => {
      client = connect({ store: await kind.open() })
      app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
      admin = await sign({ resource: '*', action: '*', feed_id: '*' })
      alice = await sign({ user_id: 'alice' })
      for (const slug of ['timeline', 'timeline_aggregated']) {
        const res = await call(admin, 'POST', `feed/${slug}/bob/following/`, { target: 'user:alice' })
        assert.equal(res.statusCode, 201 > res.statusCode ? res.statusCode : 200, res.body)
      }
      for (let i = 0; i < 3; i++) {
        const res = await call(admin, 'POST', 'feed/user/alice/', {
          actor: 'SU:alice',
          verb: 'post',
          object: `post:${i}`,
          foreign_id: `p:${i}`,
          time: `2026-01-0${i + 1}T00:00:00`,
          to: ['notification:bob'],
        })
        assert.equal(res.statusCode, 200, res.body)
        activityId = res.json().id
      }
      const reaction = await call(admin, 'POST', 'reaction/', {
        kind: 'like',
        activity_id: activityId,
        user_id: 'alice',
        data: { text: 't' },
      })
      assert.equal(reaction.statusCode, 200, reaction.body)
      reactionId = reaction.json().id
      await client.flush()
    })
    after(async () => {
      await app.close()
      await client.close()
    })

    /** A body each route would accept, whose strings and keys the pass then poisons one by one. */
    function template(method: string, path: string): unknown {
      const activity = {
        actor: 'SU:alice',
        verb: 'post',
        object: 'o',
        foreign_id: 'f',
        extra: { tags: ['t'] },
      }
      if (method === 'DELETE' || method === 'GET') return undefined
      if (path.endsWith('/add_to_many/')) return { activity, feeds: ['user:carl'] }
      if (path.endsWith('/following/')) return { target: 'user:carl', activity_copy_limit: 10 }
      if (path.endsWith('/activity_to_targets/'))
        return { foreign_id: 'p:0', time: '2026-01-01T00:00:00', added_targets: ['notification:carl'] }
      if (path.endsWith('/follow_many/') || path.endsWith('/unfollow_many/'))
        return [{ source: 'timeline:carl', target: 'user:carl', keep_history: true }]
      if (path.endsWith('/users/')) return { users: [{ id: 'u1', data: { name: 'n', tags: ['t'] } }] }
      if (path.includes('/user/')) return { id: 'u1', data: { name: 'n', nested: { a: 'b' } } }
      if (path.endsWith('/activities/')) return { activities: [{ ...activity, time: '2026-02-01T00:00:00' }] }
      if (path.endsWith('/activity/'))
        return { changes: [{ id: activityId, set: { text: 't', 'a.b': 'c' } }] }
      if (path.endsWith('/collections/')) return { data: { food: [{ id: 'c1', name: 'n' }] } }
      if (path.includes('/collections/')) return { id: 'c2', user_id: 'alice', data: { name: 'n' } }
      if (path.includes('/reaction/'))
        return {
          kind: 'like',
          activity_id: activityId,
          user_id: 'alice',
          data: { text: 't' },
          target_feeds: ['notification:carl'],
          target_feeds_extra_data: { note: 'n' },
        }
      return activity
    }

    /** Copies of `value` with one string (or key) replaced by `bad`, for every string and key in it. */
    function poisoned(value: unknown, bad: string): unknown[] {
      if (typeof value === 'string') return [bad]
      if (value === null || typeof value !== 'object') return []
      const out: unknown[] = []
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          for (const p of poisoned(item, bad)) out.push(value.map((v, j) => (j === i ? p : v)))
        })
        return out
      }
      const entries = Object.entries(value)
      entries.forEach(([, item], i) => {
        for (const p of poisoned(item, bad))
          out.push(Object.fromEntries(entries.map(([k, v], j) => [k, j === i ? p : v])))
        out.push(Object.fromEntries(entries.map(([k, v], j) => [j === i ? `${k}${bad}` : k, v])))
      })
      out.push({ ...value, [`new${bad}`]: 1 })
      return out
    }

    it('answers every poisoned parameter and field with a Stream-shaped 4xx and changes nothing', async () => {
      const before = await snapshot()
      const rand = prng(17)
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]
      const routes = apiRoutes(app)
      assert.ok(routes.length >= 40, `only ${routes.length} routes found`)
      const values: Record<string, string> = {
        slug: 'user',
        id: 'alice',
        activityId,
        target: 'user:alice',
        collection: 'food',
        lookup: 'activity_id',
        value: activityId,
        kind: 'like',
      }
      // A reaction id where the route takes one.
      const fill = (path: string, poison?: { name: string; value: string }) =>
        path
          .replace('/api/v1.0/', '')
          .replace(/:(\w+)/g, (_, name: string) =>
            poison?.name === name
              ? poison.value
              : path.includes('/reaction/') && name === 'id'
                ? reactionId
                : encodeURIComponent(values[name] ?? 'x'),
          )
          .replace(/\*$/, 'x')
      const requests: { what: string; strict: boolean; options: InjectOptions }[] = []
      const headers = (token: string) => ({
        authorization: token,
        'stream-auth-type': 'jwt',
        'content-type': 'application/json',
      })
      for (const { method, path } of routes) {
        const m = method as InjectOptions['method']
        const body = template(method, path)
        const payload = body === undefined ? undefined : JSON.stringify(body)
        for (const name of path.match(/:(\w+)/g)?.map((p) => p.slice(1)) ?? []) {
          for (const value of URL_POISON) {
            requests.push({
              what: `${method} ${path} :${name}=${value}`,
              strict: true,
              options: {
                method: m,
                url: `/api/v1.0/${fill(path, { name, value })}${q()}`,
                headers: headers(admin),
                payload,
              },
            })
          }
        }
        for (let i = 0; i < 6; i++) {
          const key = pick(QUERY_KEYS)
          // Writes get only NUL here: a value the parser reads as U+FFFD may be accepted, and change data.
          const poison = method === 'GET' ? URL_POISON : URL_POISON.filter((p) => p.includes('%00'))
          const value = pick([...poison, `${encodeURIComponent(pick(['ok', activityId]))}${pick(poison)}`])
          requests.push({
            what: `${method} ${path} ?${key}=${value}`,
            // The query parser reads invalid UTF-8 as U+FFFD (storable); a NUL arrives as one.
            strict: value.includes('%00'),
            options: {
              method: m,
              url: `/api/v1.0/${fill(path)}${q(`${key}=${value}`)}`,
              headers: headers(pick([admin, alice])),
              payload,
            },
          })
        }
        // Huge values may be accepted where ignored: only on reads, which change nothing.
        if (method === 'GET')
          requests.push({
            what: `${method} ${path} ?${pick(QUERY_KEYS)}=<huge>`,
            strict: false,
            options: {
              method: m,
              url: `/api/v1.0/${fill(path)}${q(`${pick(QUERY_KEYS)}=${HUGE.slice(0, 60_000)}`)}`,
              headers: headers(admin),
              payload,
            },
          })
        // Endpoints Eddy does not serve refuse before reading the body: their paths and queries suffice.
        if (body === undefined || UNSERVED.test(path)) continue
        for (const bad of POISON) {
          for (const variant of poisoned(body, bad)) {
            requests.push({
              what: `${method} ${path} ${JSON.stringify(variant).slice(0, 160)}`,
              strict: true,
              options: {
                method: m,
                url: `/api/v1.0/${fill(path)}${q()}`,
                headers: headers(pick([admin, alice])),
                payload: JSON.stringify(variant),
              },
            })
          }
        }
        for (const variant of poisoned(body, HUGE).slice(0, 8)) {
          requests.push({
            what: `${method} ${path} <huge field>`,
            strict: false,
            options: {
              method: m,
              url: `/api/v1.0/${fill(path)}${q()}`,
              headers: headers(admin),
              payload: JSON.stringify(variant),
            },
          })
        }
      }
      assert.ok(requests.length >= 1000, `only ${requests.length} requests`)

      const statuses = new Map<number, number>()
      for (const { what, strict, options } of requests) {
        const res = await app.inject(options)
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        const line = `${what} -> ${res.statusCode} ${res.body.slice(0, 300)}`
        // Stream endpoints Eddy does not serve answer 501 to everything, before reading anything.
        const unserved = res.statusCode === 501 && res.json().exception === 'NotImplementedException'
        assert.ok(res.statusCode < 500 || unserved, line)
        if (strict) assert.ok(res.statusCode >= 400, line)
        if (res.statusCode >= 400) {
          const error = res.json()
          for (const key of ['code', 'detail', 'exception', 'status_code', 'duration'])
            assert.ok(key in error, `${key} missing: ${line}`)
          assert.equal(error.status_code, res.statusCode, line)
        }
      }
      await client.flush()
      assert.deepEqual(await snapshot(), before, JSON.stringify([...statuses]))
      // Fan-out still flows: a new post reaches both of Bob's timelines.
      const res = await call(admin, 'POST', 'feed/user/alice/', {
        actor: 'SU:alice',
        verb: 'post',
        object: 'after',
      })
      assert.equal(res.statusCode, 200, res.body)
      await client.flush()
      for (const slug of ['timeline', 'timeline_aggregated']) {
        const page = await call(admin, 'GET', `feed/${slug}/bob/?limit=1`)
        assert.ok(page.body.includes(res.json().id), `${slug}: ${page.body.slice(0, 300)}`)
      }
    })
  })
}
