/**
 * The OpenAPI document `eddy serve` serves: valid OpenAPI 3, in step with Fastify's route table
 * (every route documented with its method and path, every documented route real), reachable
 * without a token and free of secrets, and true to what the routes answer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { createServer } from 'eddy/server'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { SignJWT } from 'jose'
import { Compile } from 'typebox/compile'

const KEY = 'openapi-key'
const SECRET = 'openapi-secret-never-shown'
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const

type Doc = {
  openapi: string
  info: { description: string }
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >
}

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
}

/** Fastify's `/a/:b/` as OpenAPI's `/a/{b}/`. */
function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}')
}

describe('the OpenAPI document', () => {
  let app: FastifyInstance
  let doc: Doc
  let admin: string
  const routes: { method: string; url: string; hidden: boolean }[] = []

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    // The routes are registered in a plugin when the app loads, so this sees every one of them.
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) {
        const hidden = (r.schema as { hide?: boolean } | undefined)?.hide === true
        routes.push({ method: method.toLowerCase(), url: r.url, hidden })
      }
    })
    await app.ready()
    admin = await sign({ resource: '*', action: '*', feed_id: '*' })
    const res = await app.inject({ url: '/api/v1.0/openapi.json' })
    assert.equal(res.statusCode, 200, res.body)
    doc = res.json()
  })
  after(() => app.close())

  const call = (options: InjectOptions) =>
    app.inject({
      ...options,
      url: `${options.url}${String(options.url).includes('?') ? '&' : '?'}api_key=${KEY}`,
      headers: { authorization: admin, 'stream-auth-type': 'jwt' },
    })

  it('is valid OpenAPI 3', async () => {
    assert.match(doc.openapi, /^3\./)
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  })

  it('documents every route with its method and path, and nothing else', async () => {
    const documented = new Set<string>()
    for (const [path, item] of Object.entries(doc.paths))
      for (const method of METHODS) if (item[method]) documented.add(`${method} ${path}`)
    const served = new Set<string>()
    for (const r of routes) {
      // HEAD answers every GET by itself; OPTIONS is CORS preflight.
      if (r.method === 'head' || r.method === 'options' || r.hidden) continue
      served.add(`${r.method} ${openApiPath(r.url)}`)
    }
    assert.ok(served.size > 30, `${served.size} routes`)
    assert.deepEqual(
      [...served].filter((r) => !documented.has(r)),
      [],
      'every route is in the document',
    )
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      [],
      'every documented route exists',
    )
  })

  it('leaves out on purpose only the docs themselves and the 501 endpoints; Faye is not REST', async () => {
    for (const r of routes.filter((r) => r.hidden && r.method !== 'head' && r.method !== 'options')) {
      if (r.url.startsWith('/api/v1.0/docs') || r.url === '/api/v1.0/openapi.json') continue
      // Feeds V3 (/api/v2): Stream's own OpenAPI spec describes it (docs/v3.md, test/v3/).
      if (r.url.startsWith('/api/v2')) continue
      const res = await call({ method: r.method.toUpperCase() as 'GET', url: r.url.replace('*', 'x') })
      assert.equal(res.statusCode, 501, `${r.method} ${r.url} is hidden, so it must be a 501: ${res.body}`)
      assert.equal(res.json().exception, 'NotImplementedException')
    }
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/faye')))
    assert.match(doc.info.description, /Faye/)
  })

  it('is served without a token, with a docs page, and shows no secret or key', async () => {
    const page = await app.inject({ url: '/api/v1.0/docs/' })
    assert.equal(page.statusCode, 200)
    assert.match(String(page.headers['content-type']), /text\/html/)
    const text = JSON.stringify(doc)
    assert.ok(!text.includes(SECRET) && !text.includes(KEY), 'no secret or key in the document')
    assert.ok(!text.includes('memory'), 'no store location')
  })

  it('describes what the routes answer', async () => {
    const check = (method: string, path: string, status: number, body: unknown) => {
      const schema =
        doc.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema
      assert.ok(schema, `${method} ${path} documents ${status}`)
      const validator = Compile(schema as never)
      assert.ok(
        validator.Check(body),
        `${method} ${path} ${status}: ${JSON.stringify([...validator.Errors(body)])}`,
      )
    }
    const added = await call({
      method: 'POST',
      url: '/api/v1.0/feed/user/alice/',
      payload: { actor: 'SU:alice', verb: 'post', object: 'post:1', foreign_id: 'p:1', mood: 'custom field' },
    })
    assert.equal(added.statusCode, 200, added.body)
    assert.equal(added.json().mood, 'custom field', 'custom fields are kept')
    check('post', '/api/v1.0/feed/{slug}/{id}/', 200, added.json())
    const batch = await call({
      method: 'POST',
      url: '/api/v1.0/feed/user/alice/',
      payload: { activities: [{ actor: 'SU:alice', verb: 'like', object: 'post:2', activities: 'custom' }] },
    })
    assert.equal(batch.statusCode, 200, batch.body)
    assert.equal(batch.json().activities[0].activities, 'custom', 'a custom field may be named activities')
    check('post', '/api/v1.0/feed/{slug}/{id}/', 200, batch.json())
    for (const url of ['/api/v1.0/feed/user/alice/?limit=5', '/api/v1.0/enrich/feed/user/alice/?limit=5']) {
      const read = await call({ url })
      assert.equal(read.json().results.length, 2)
      check(
        'get',
        url.includes('enrich') ? '/api/v1.0/enrich/feed/{slug}/{id}/' : '/api/v1.0/feed/{slug}/{id}/',
        200,
        read.json(),
      )
    }
    // Aggregated and notification feeds answer groups.
    for (const feed of ['timeline_aggregated/bob', 'notification/bob']) {
      const add = await call({
        method: 'POST',
        url: `/api/v1.0/feed/${feed}/`,
        payload: { actor: 'SU:carl', verb: 'like', object: 'post:1' },
      })
      assert.equal(add.statusCode, 200, add.body)
      const groups = await call({ url: `/api/v1.0/feed/${feed}/` })
      assert.equal(groups.json().results[0].activity_count, 1)
      check('get', '/api/v1.0/feed/{slug}/{id}/', 200, groups.json())
    }
    const followed = await call({
      method: 'POST',
      url: '/api/v1.0/feed/timeline/bob/follows/',
      payload: { target: 'user:alice' },
    })
    check('post', '/api/v1.0/feed/{slug}/{id}/follows/', 200, followed.json())
    const bad = await call({
      method: 'POST',
      url: '/api/v1.0/feed/timeline/bob/follows/',
      payload: { target: 'user:alice', nope: 1 },
    })
    assert.equal(bad.statusCode, 400)
    check('post', '/api/v1.0/feed/{slug}/{id}/follows/', 400, bad.json())
    const health = await app.inject({ url: '/api/v1.0/health/' })
    check('get', '/api/v1.0/health/', 200, health.json())
  })
})
