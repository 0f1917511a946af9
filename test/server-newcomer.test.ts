/**
 * The server and CLI as a newcomer meets them: a URL without `/api/` gets a hint naming the right
 * base URL, deliberate rejections are logged at info without stacks (only surprises at error),
 * and `eddy --version` / `-v` print the package's version.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { connect, MemoryStore } from 'eddy'
import { createServer } from 'eddy/server'
import stream from 'getstream'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

/** A real memory store whose flat reads fail the way a broken disk would. */
class FailingStore extends MemoryStore {
  constructor() {
    super()
    this.timelines.readFlat = async () => {
      throw new TypeError('the disk is on fire')
    }
  }
}

function capture() {
  const lines: { level: number; msg: string; err?: { stack?: string }; status?: number }[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
      done()
    },
  })
  return { lines, logger: { level: 'info', stream } }
}

describe('server URLs', () => {
  it('says where the API lives when the path lacks /api/', async () => {
    const app = createServer({ store: 'memory', apiKey: 'key', apiSecret: 'secret' })
    const res = await app.inject({
      method: 'GET',
      url: '/v1.0/feed/user/1/?api_key=key',
      headers: { host: 'example.test:8000' },
    })
    assert.equal(res.statusCode, 404)
    assert.equal(
      res.json().detail,
      "GET /v1.0/feed/user/1/ is not an endpoint of this API; Stream's endpoints are under /api/v1.0/, so point the client at http://example.test:8000/api/ (getstream: urlOverride: { api: 'http://example.test:8000/api/' })",
    )
    const under = await app.inject({ method: 'GET', url: '/api/v1.0/nothing/here/' })
    assert.equal(under.json().detail, 'GET /api/v1.0/nothing/here/ is not an endpoint of this API')
    await app.close()
  })
})

describe('server logs', () => {
  it('logs 4xx and deliberate 501s at info without a stack, and unexpected failures at error', async () => {
    const { lines, logger } = capture()
    const client = connect({ store: new FailingStore() })
    const app = createServer({ client, apiKey: 'key', apiSecret: 'secret', logger })
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1.0/personalization/x/?api_key=key' })).statusCode,
      501,
    )
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1.0/feed/user/1/?api_key=key' })).statusCode,
      401,
    )
    const rejected = lines.filter((l) => l.msg === 'request rejected')
    assert.deepEqual(
      rejected.map((l) => [l.level, l.status]),
      [
        [30, 501],
        [30, 401],
      ],
    )
    assert.ok(rejected.every((l) => l.err === undefined))
    assert.equal(
      lines.filter((l) => l.level >= 50).length,
      0,
      'nothing at error level for deliberate answers',
    )

    const token = stream.connect('key', 'secret').getOrCreateToken()
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1.0/feed/user/1/?api_key=key',
      headers: { authorization: token, 'stream-auth-type': 'jwt' },
    })
    assert.equal(res.statusCode, 500)
    const errors = lines.filter((l) => l.level >= 50)
    assert.equal(errors.length, 1)
    assert.match(errors[0].err?.stack ?? '', /the disk is on fire/)
    await app.close()
    await client.close()
  })
})

describe('eddy --version', () => {
  for (const flag of ['--version', '-v']) {
    it(`prints the package version for ${flag}`, () => {
      const out = execFileSync(
        process.execPath,
        [
          '--conditions=eddy-source',
          '--import',
          'tsx',
          new URL('../src/cli/eddy.ts', import.meta.url).pathname,
          flag,
        ],
        { encoding: 'utf8' },
      )
      assert.equal(out, `${pkg.version}\n`)
    })
  }
})
