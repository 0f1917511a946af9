/**
 * Async methods reject, never throw (issue 19, item 4): `await client.feed('special', '42').follow(...)`
 * used to throw FeedConfigException synchronously, before any `.catch()` or `await` was in place.
 * Every promise-returning method of the public client (client, feeds, reactions, audit logs, the
 * explicit ORM API) is called with hostile arguments, on an unknown feed group and after close(),
 * and must return a promise each time; the unknown group's calls reject with FeedConfigException.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connect, EddyError } from 'eddy'
import { activityCreated, activityDeleted } from 'eddy/django'

/** The callable members of an object's class (its own prototype), but the constructor. */
function methods(target: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(target)).filter(
    (name) => name !== 'constructor' && typeof (target as Record<string, unknown>)[name] === 'function',
  )
}

/**
 * Methods that return a handle or a reference at once rather than a promise (getstream's too):
 * documented to throw on bad input.
 */
const SYNC = new Set(['feed', 'subscribe', 'user', 'ref'])
const HOSTILE: unknown[][] = [
  [],
  [null],
  [undefined, null],
  [{ bogus: 1 }],
  ['x', Symbol('s')],
  [{ toString: () => 'x', __proto__: null }],
]

/** Calls every method of `target` with each hostile argument list; returns the rejections' errors. */
async function callAll(label: string, target: object): Promise<unknown[]> {
  const errors: unknown[] = []
  for (const name of methods(target)) {
    if (SYNC.has(name)) continue
    for (const args of HOSTILE) {
      let result: unknown
      try {
        result = (target as Record<string, (...a: unknown[]) => unknown>)[name](...args)
      } catch (error) {
        assert.fail(`${label}.${name}(${args.map(String).join(', ')}) threw synchronously: ${error}`)
      }
      assert.ok(result instanceof Promise, `${label}.${name} returns a promise`)
      await result.then(
        () => undefined,
        (error) => errors.push(error),
      )
    }
  }
  return errors
}

describe('async methods reject instead of throwing', () => {
  it("the README's low-level call on an unconfigured group rejects with FeedConfigException", async () => {
    const client = connect({ store: 'memory' })
    const special = client.feed('special' as 'user', '42')
    await assert.rejects(special.follow('timeline', '60'), (error: unknown) => {
      assert.ok(error instanceof EddyError)
      assert.equal(error.exception, 'FeedConfigException')
      assert.match(error.detail, /feed group "special" does not exist; configured groups: user/)
      return true
    })
    assert.equal(special.id, 'special:42')
    const errors = await callAll('feed(special)', special)
    // Each call fails, on the group or on an argument checked first, always with an EddyError.
    assert.equal(errors.length, methods(special).filter((m) => !SYNC.has(m)).length * HOSTILE.length)
    for (const error of errors) assert.ok(error instanceof EddyError, String(error))
    await assert.rejects(special.get(), { exception: 'FeedConfigException' })
    assert.throws(() => special.subscribe(() => {}), /feed group "special" does not exist/)
    await client.close()
  })

  it('a bad feed id rejects on the call, not at client.feed()', async () => {
    const client = connect({ store: 'memory' })
    await assert.rejects(client.feed('user', 'a b').get(), { exception: 'InputException' })
    await assert.rejects(client.feed('user:').get(), EddyError)
    await client.close()
  })

  it('every method of the client, a feed, reactions and audit logs returns a promise for hostile input', async () => {
    const client = connect({ store: 'memory' })
    for (const [label, target] of [
      ['client', client],
      ['feed', client.feed('user', 'alice')],
      ['reactions', client.reactions],
      ['auditLogs', client.auditLogs],
    ] as const) {
      const errors = await callAll(label, target)
      for (const error of errors) assert.ok(error instanceof EddyError, `${label}: ${error}`)
    }
    await client.close()
  })

  it('after close(), every call rejects', async () => {
    const client = connect({ store: 'memory' })
    const feed = client.feed('user', 'alice')
    await client.close()
    await assert.rejects(client.feed('user', 'bob').get(), EddyError)
    await assert.rejects(feed.addActivity({ actor: 'a', verb: 'v', object: 'o' }), EddyError)
    await callAll('closed client', client)
    await callAll('closed feed', feed)
    await callAll('closed user', client.user('carol'))
    await callAll('closed collections', client.collections)
  })

  it('the explicit ORM API rejects for a row that is no activity', async () => {
    for (const fn of [activityCreated, activityDeleted]) {
      let result: unknown
      assert.doesNotThrow(() => {
        result = fn(null as never)
      })
      await assert.rejects(result as Promise<unknown>)
    }
  })
})
