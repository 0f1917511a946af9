import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import { strftime } from '../src/engine/aggregation.js'
import { EddyError } from '../src/engine/errors.js'
import { parseTime } from '../src/engine/time.js'

const isEmptyObject = (a: unknown) =>
  a !== null && typeof a === 'object' && !Array.isArray(a) && Object.keys(a).length === 0

describe('every public entry point rejects garbage with an EddyError, never a TypeError', () => {
  let client: EddyClient
  before(() => {
    client = connect({ store: 'memory' })
  })
  after(() => client.close())

  const junk: unknown[] = [null, undefined, 42, 'x', {}, [], [null], { ids: 'a' }, () => 1]
  // `never`: each call takes whatever junk it is given, whatever its parameters' types say.
  const calls: [string, (arg: never) => unknown][] = [
    // `{}` is valid options: open it in memory, so the test leaves no ./eddy.sqlite behind.
    [
      'connect',
      (a) => connect(a === undefined ? (null as never) : isEmptyObject(a) ? { store: 'memory' } : a),
    ],
    ['feed', (a) => client.feed(a, a)],
    ['addActivity', (a) => client.feed('user', '1').addActivity(a)],
    ['addActivities', (a) => client.feed('user', '1').addActivities(a)],
    ['removeActivity', (a) => client.feed('user', '1').removeActivity(a ?? {})],
    ['get', (a) => client.feed('user', '1').get(a ?? { limit: -1 })],
    ['get notification', (a) => client.feed('notification', '1').get({ mark_read: a ?? 5, limit: 1 })],
    ['getActivityDetail', (a) => client.feed('user', '1').getActivityDetail(a)],
    ['follow', (a) => client.feed('timeline', '1').follow(a, a)],
    ['follow limit', (a) => client.feed('timeline', '1').follow('user', '2', { limit: a ?? 5000 })],
    ['unfollow', (a) => client.feed('timeline', '1').unfollow(a, a)],
    [
      'followers',
      (a) => client.feed('user', '1').followers(a === undefined ? ({ limit: 'x' } as never) : (a as never)),
    ],
    ['following', (a) => client.feed('user', '1').following({ filter: a ?? 3 } as never)],
    ['followStats', (a) => client.feed('user', '1').followStats({ followerSlugs: a ?? 1 } as never)],
    ['updateActivityToTargets', (a) => client.feed('user', '1').updateActivityToTargets(a, a, a, a, a)],
    ['getActivities', (a) => client.getActivities(a)],
    ['updateActivities', (a) => client.updateActivities(a)],
    ['updateActivity', (a) => client.updateActivity(a)],
    ['activityPartialUpdate', (a) => client.activityPartialUpdate(a)],
    ['activitiesPartialUpdate', (a) => client.activitiesPartialUpdate(a)],
    ['addToMany', (a) => client.addToMany(a, a)],
    ['followMany', (a) => client.followMany(a, a === undefined ? 5 : undefined)],
    ['unfollowMany', (a) => client.unfollowMany(a)],
  ]

  for (const [name, call] of calls) {
    it(name, async () => {
      for (const value of junk) {
        let outcome: unknown
        try {
          outcome = await call(value as never)
        } catch (error) {
          assert.ok(error instanceof EddyError, `${name}(${String(value)}) threw ${(error as Error)?.stack}`)
          assert.equal(typeof error.detail, 'string')
          assert.ok(error.status_code >= 400 && error.status_code < 500)
          continue
        }
        // A few calls accept some of these values (e.g. removing a missing id); they must not corrupt anything.
        assert.ok(
          outcome !== undefined || name === 'connect',
          `${name}(${String(value)}) resolved to undefined`,
        )
      }
    })
  }

  it('still serves normally afterwards', async () => {
    await client.feed('user', 'ok').addActivity({ actor: 'a', verb: 'v', object: 'o' })
    assert.equal((await client.feed('user', 'ok').get()).results.length, 1)
    assert.equal((await client.feed('user', '1').get()).results.length, 0)
  })
})

describe('time and strftime', () => {
  it('formats the usual strftime codes in UTC', () => {
    const micros = parseTime('2026-03-07T05:04:09.012345')
    assert.equal(strftime(micros, '%Y-%m-%d %H:%M:%S.%f'), '2026-03-07 05:04:09.012345')
    assert.equal(strftime(micros, '%y %j %a %A %b %B %I%p %w %%'), '26 066 Sat Saturday Mar March 05AM 6 %')
    assert.equal(strftime(micros, '%U %W'), '09 09')
  })

  it('parses offsets and fractional seconds exactly', () => {
    assert.equal(parseTime('2026-01-01T00:00:00.000001Z') - parseTime('2026-01-01T00:00:00Z'), 1)
    assert.equal(parseTime('2026-01-01T01:30:00+01:30'), parseTime('2026-01-01T00:00:00'))
    assert.equal(parseTime('2026-01-01 00:00:00'), parseTime('2026-01-01T00:00:00Z'))
  })
})

describe('formatTime', () => {
  it('matches Date#toISOString with microseconds across four centuries of instants', async () => {
    const { formatTime } = await import('../src/engine/time.js')
    let seed = 42
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const instants = [0, 951_782_400_000_000, 4_107_542_399_999_999, 1_709_164_800_123_456]
    for (let i = 0; i < 5000; i++)
      instants.push(Math.floor(next() * 13_000_000_000) * 1_000_000 + Math.floor(next() * 1e6))
    for (const micros of instants) {
      const ms = Math.floor(micros / 1000)
      const expected = new Date(ms).toISOString().slice(0, 23) + String(micros % 1000).padStart(3, '0')
      assert.equal(formatTime(micros), expected, String(micros))
    }
  })
})

describe('error registry', () => {
  it('documents every error kind with its code and status in docs/errors.md, and nothing else', async () => {
    const { ERRORS } = await import('../src/engine/errors.js')
    const { readFileSync } = await import('node:fs')
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
    const rows = [...doc.matchAll(/^\| (\w+)\s*\| (\d+)\s*\| (\d+)\s*\|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      Number(m[3]),
    ])
    assert.deepEqual(
      rows.sort(),
      Object.entries(ERRORS)
        .map(([kind, { code, status }]) => [kind, code, status])
        .sort(),
    )
  })
})
