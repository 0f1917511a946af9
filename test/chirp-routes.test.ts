/** Chirp's routes through Fastify `inject()`: sessions, posting, follows, likes, feeds, errors. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../examples/chirp/app.js'
import { must } from './helpers.js'

type Res = Awaited<ReturnType<FastifyInstance['inject']>>

function client(app: FastifyInstance) {
  const form = (data: Record<string, string>) => ({
    payload: new URLSearchParams(data).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  return {
    get: (url: string, cookie?: string) => app.inject({ url, headers: cookie ? { cookie } : {} }),
    post: (url: string, data: Record<string, string>, cookie?: string) => {
      const f = form(data)
      return app.inject({
        method: 'POST',
        url,
        payload: f.payload,
        headers: { ...f.headers, ...(cookie ? { cookie } : {}) },
      })
    },
  }
}

const cookieOf = (res: Res) => String(res.headers['set-cookie']).split(';')[0]
/** Visible text of a page, without tags. */
const text = (res: Res) =>
  res.body
    .replace(/<svg[\s\S]*?<\/svg>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
const badge = (res: Res) => res.body.match(/data-testid="unseen-badge"[^>]*>(\d+)</)?.[1]

describe('chirp routes', () => {
  let app: FastifyInstance
  let http: ReturnType<typeof client>
  const cookies: Record<string, string> = {}

  before(async () => {
    app = await buildApp({ inMemory: true })
    http = client(app)
    for (const [username, name] of [
      ['ann', 'Ann Archer'],
      ['bob', 'Bob Baker'],
      ['cat', 'Cat Cole'],
    ]) {
      const res = await http.post('/signup', { username, name })
      assert.equal(res.statusCode, 303, res.body)
      cookies[username] = cookieOf(res)
    }
  })
  after(() => app.close())

  it('sends visitors without a session to the sign-in page, which lists users', async () => {
    const res = await http.get('/')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/signin')
    const signin = await http.get('/signin')
    assert.match(text(signin), /Ann Archer @ann/)
  })

  it('signs in by username and rejects unknown users and bad sign-ups', async () => {
    const ok = await http.post('/signin', { username: 'bob' })
    assert.equal(ok.statusCode, 303)
    assert.match(String(ok.headers['set-cookie']), /chirp_user=/)
    const unknown = await http.post('/signin', { username: 'nobody' })
    assert.equal(unknown.statusCode, 404)
    assert.match(text(unknown), /There is no user named @nobody/)
    assert.equal(unknown.headers['set-cookie'], undefined)
    const taken = await http.post('/signup', { username: 'ann', name: 'Another Ann' })
    assert.equal(taken.statusCode, 409)
    assert.match(text(taken), /@ann is taken/)
    const bad = await http.post('/signup', { username: 'a!', name: 'X' })
    assert.equal(bad.statusCode, 400)
    assert.equal(await app.chirp.users.count(), 3)
    const forged = await http.get('/', 'chirp_user=1')
    assert.equal(forged.statusCode, 303, 'an unsigned cookie is no session')
  })

  it('rejects empty and over-long chirps without posting anything', async () => {
    const empty = await http.post('/chirps', { text: '   ', back: '/' }, cookies.ann)
    assert.equal(empty.statusCode, 400)
    assert.match(text(empty), /Your chirp is empty/)
    const long = await http.post('/chirps', { text: 'x'.repeat(281), back: '/' }, cookies.ann)
    assert.equal(long.statusCode, 400)
    assert.match(text(long), /at most 280 characters; yours has 281/)
    assert.match(long.body, /<textarea[^>]*>x{281}<\/textarea>/, 'the draft is kept')
    assert.equal(await app.chirp.chirps.count(), 0)
  })

  it('posts a chirp that shows on the author’s home and profile', async () => {
    const res = await http.post('/chirps', { text: 'Hello from <Ann> & @bob', back: '/' }, cookies.ann)
    assert.equal(res.statusCode, 303)
    const home = await http.get('/', cookies.ann)
    assert.match(
      home.body,
      /Hello from &lt;Ann&gt; &amp; <a href="\/u\/bob">@bob<\/a>/,
      'escaped, mentions linked',
    )
    assert.match(text(await http.get('/u/ann', cookies.ann)), /Hello from <Ann>/)
  })

  it('follows: the follower sees the chirps, counts change, the followed user is notified', async () => {
    assert.doesNotMatch(text(await http.get('/', cookies.bob)), /Hello from/)
    assert.equal(badge(await http.get('/', cookies.ann)), undefined)
    const res = await http.post('/u/ann/follow', { back: '/u/ann' }, cookies.bob)
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/u/ann')
    assert.match(text(await http.get('/', cookies.bob)), /Hello from <Ann>/)
    const profile = await http.get('/u/ann', cookies.bob)
    assert.match(text(profile), /0 following 1 follower\b/)
    assert.match(text(profile), /Following/)
    assert.equal(badge(await http.get('/', cookies.ann)), '1')
  })

  it('refuses a double follow, following yourself and unknown users, changing nothing', async () => {
    const again = await http.post('/u/ann/follow', { back: '/u/ann' }, cookies.bob)
    assert.equal(again.statusCode, 409)
    assert.match(text(again), /You already follow @ann/)
    assert.equal(await app.chirp.follows.count(), 1)
    const self = await http.post('/u/bob/follow', { back: '/' }, cookies.bob)
    assert.equal(self.statusCode, 400)
    assert.match(text(self), /You cannot follow yourself/)
    const ghost = await http.post('/u/ghost/follow', { back: '/' }, cookies.bob)
    assert.equal(ghost.statusCode, 404)
    assert.match(text(ghost), /There is no user named @ghost/)
    const page = await http.get('/u/ghost', cookies.bob)
    assert.equal(page.statusCode, 404)
    assert.equal(badge(await http.get('/', cookies.ann)), '1')
  })

  it('likes notify the author; the notifications page clears the badge and marks groups read', async () => {
    const chirp = await app.chirp.chirps.findOneByOrFail({ userId: 1 })
    const res = await http.post(`/chirps/${chirp.id}/like`, { back: '/' }, cookies.bob)
    assert.equal(res.statusCode, 303)
    assert.match((await http.get('/', cookies.bob)).body, /aria-pressed="true"/)
    const twice = await http.post(`/chirps/${chirp.id}/like`, { back: '/' }, cookies.bob)
    assert.equal(twice.statusCode, 409)
    assert.match(text(twice), /You already like that chirp/)
    assert.equal((await app.chirp.chirps.findOneByOrFail({ id: chirp.id })).likeCount, 1)

    assert.equal(badge(await http.get('/', cookies.ann)), '2')
    const page = await http.get('/notifications', cookies.ann)
    assert.match(text(page), /Bob Baker liked your chirp/)
    assert.match(text(page), /Bob Baker followed you/)
    assert.equal(badge(page), undefined, 'opening the page marks everything seen')
    assert.equal((page.body.match(/is-unread/g) ?? []).length, 2)
    const link = must(
      page.body.match(/href="(\/notifications\/[0-9a-f-]+\/read\?to=\/chirps\/\d+)"/),
      'a read link',
    )[1]
    const open = await http.get(link, cookies.ann)
    assert.equal(open.statusCode, 303)
    assert.equal(open.headers.location, `/chirps/${chirp.id}`)
    const after = await http.get('/notifications', cookies.ann)
    assert.equal((after.body.match(/is-unread/g) ?? []).length, 1)
    assert.equal((after.body.match(/is-new/g) ?? []).length, 0)
    const evil = await http.get(`${link.split('?')[0]}?to=//evil.example`, cookies.ann)
    assert.equal(evil.headers.location, '/notifications')
  })

  it('groups likes in the aggregated timeline and notifications', async () => {
    await http.post('/u/ann/follow', { back: '/' }, cookies.cat)
    await http.post('/u/bob/follow', { back: '/' }, cookies.cat)
    const chirp = await app.chirp.chirps.findOneByOrFail({ userId: 1 })
    await http.post(`/chirps/${chirp.id}/like`, { back: '/' }, cookies.cat)
    const grouped = text(await http.get('/?view=aggregated', cookies.cat))
    assert.match(grouped, /Bob Baker and You liked|You and Bob Baker liked/)
    assert.match(
      text(await http.get('/notifications', cookies.ann)),
      /(Cat Cole and Bob Baker|Bob Baker and Cat Cole) liked your chirp/,
    )
  })

  it('replies and rechirps reach the original author; a second rechirp is refused', async () => {
    const chirp = await app.chirp.chirps.findOneByOrFail({ userId: 1 })
    const reply = await http.post(
      '/chirps',
      { text: 'Nice one', replyTo: String(chirp.id), back: `/chirps/${chirp.id}` },
      cookies.bob,
    )
    assert.equal(reply.statusCode, 303)
    assert.equal(reply.headers.location, `/chirps/${chirp.id}`)
    assert.match(
      text(await http.get(`/chirps/${chirp.id}`, cookies.bob)),
      /1 reply BB Bob Baker @bob · now Nice one/,
    )
    assert.equal((await http.post(`/chirps/${chirp.id}/rechirp`, { back: '/' }, cookies.cat)).statusCode, 303)
    const again = await http.post(`/chirps/${chirp.id}/rechirp`, { back: '/' }, cookies.cat)
    assert.equal(again.statusCode, 409)
    const notes = text(await http.get('/notifications', cookies.ann))
    assert.match(notes, /Bob Baker replied to your chirp Nice one/)
    assert.match(notes, /Cat Cole rechirped your chirp/)
    const emptyReply = await http.post(
      '/chirps',
      { text: '', replyTo: String(chirp.id), back: `/chirps/${chirp.id}` },
      cookies.bob,
    )
    assert.equal(emptyReply.statusCode, 400)
    assert.match(text(emptyReply), /Your chirp is empty.*Hello from/)
    assert.equal((await http.post('/chirps/9999/like', { back: '/' }, cookies.bob)).statusCode, 404)
  })

  it('unlike and unfollow take activities back out of the feeds', async () => {
    const chirp = await app.chirp.chirps.findOneByOrFail({ userId: 1 })
    await http.post(`/chirps/${chirp.id}/unlike`, { back: '/' }, cookies.cat)
    assert.doesNotMatch(text(await http.get('/u/cat', cookies.cat)), /liked/)
    assert.equal((await http.post(`/chirps/${chirp.id}/unlike`, { back: '/' }, cookies.cat)).statusCode, 409)
    assert.equal((await http.post('/u/ann/unfollow', { back: '/' }, cookies.bob)).statusCode, 303)
    // Ann's chirp card is gone; Bob's own like of it (a compact line) stays on his timeline.
    assert.doesNotMatch((await http.get('/', cookies.bob)).body, /class="chirp-text">Hello from/)
    const again = await http.post('/u/ann/unfollow', { back: '/' }, cookies.bob)
    assert.equal(again.statusCode, 409)
    assert.match(text(again), /You do not follow @ann/)
  })

  it('pages with an "older" cursor and enriches each page with one query per model', async () => {
    for (let i = 1; i <= 20; i++)
      await http.post('/chirps', { text: `Numbered chirp ${i}`, back: '/' }, cookies.cat)
    const calls: string[] = []
    const enrich = app.chirp.enrich
    const original = enrich.fetchModelInstances.bind(enrich)
    enrich.fetchModelInstances = (model, ids) => {
      calls.push(model)
      return original(model, ids)
    }
    try {
      const first = await http.get('/', cookies.cat)
      assert.deepEqual(calls.sort(), ['Chirp', 'User'])
      assert.match(text(first), /Numbered chirp 20/)
      assert.doesNotMatch(text(first), /Numbered chirp 5\b/)
      const older = must(
        first.body.match(/rel="next" href="(\/\?before=[0-9a-f-]+)"/),
        'an older-page link',
      )[1]
      const second = text(await http.get(older, cookies.cat))
      assert.match(second, /Numbered chirp 5\b/)
      assert.doesNotMatch(second, /Numbered chirp 20/)
    } finally {
      enrich.fetchModelInstances = original
    }
    const bad = await http.get('/?before=nonsense', cookies.cat)
    assert.equal(bad.statusCode, 400)
    assert.match(text(bad), /That page link is not valid/)
  })

  it('signs out', async () => {
    const res = await http.post('/signout', {}, cookies.cat)
    assert.equal(res.headers.location, '/signin')
    assert.match(String(res.headers['set-cookie']), /chirp_user=;/)
  })
})

describe('chirp seed', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildApp({ inMemory: true, seed: true })
  })
  after(() => app.close())

  it('seeds a dozen users with chirps, follows and likes over several days', async () => {
    const { users, chirps, likes, follows } = app.chirp
    assert.equal(await users.count(), 12)
    assert.ok((await chirps.count()) >= 40)
    assert.ok((await likes.count()) >= 60)
    assert.ok((await follows.count()) >= 60)
    const days = await chirps
      .createQueryBuilder('c')
      .select('COUNT(DISTINCT date(c.createdAt))', 'n')
      .getRawOne()
    assert.ok(Number(days.n) >= 5)
    const signin = await app.inject({
      method: 'POST',
      url: '/signin',
      payload: 'username=mara',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    const home = await app.inject({ url: '/?view=aggregated', headers: { cookie: cookieOf(signin) } })
    assert.equal(home.statusCode, 200)
    assert.match(text(home), /and \d+ others liked/)
  })
})
