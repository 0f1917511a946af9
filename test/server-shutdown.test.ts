/**
 * Closing the server while a request is still being answered: the answer goes out whole, says
 * `Connection: close`, and its keep-alive socket ends with it, so close() resolves then instead
 * of waiting out the socket's keep-alive timeout (set to 10 minutes here, past the test's limit).
 */
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import { SignJWT } from 'jose'

const KEY = 'shutdown-key'
const SECRET = 'shutdown-secret'

describe('closing the server', () => {
  it('answers a request in flight with Connection: close and closes without waiting for its socket', {
    timeout: 60_000,
  }, async () => {
    const app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    app.server.keepAliveTimeout = 600_000
    const { port } = app.server.address() as AddressInfo
    const token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const agent = new Agent({ keepAlive: true })
    const body = JSON.stringify({ actor: 'alice', verb: 'post', object: 'o:1' })
    const req = request({
      host: '127.0.0.1',
      port,
      agent,
      method: 'POST',
      path: `/api/v1.0/feed/user/alice/?api_key=${KEY}`,
      headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
    })
    const answered = new Promise<{ status: number; connection: string | undefined; text: string }>(
      (resolve, reject) => {
        req.on('response', (res) => {
          let text = ''
          res.on('data', (c) => {
            text += c
          })
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }),
          )
        })
        req.on('error', reject)
      },
    )
    // The request is under way (headers and half its body sent) when the server starts closing.
    const received = new Promise<void>((resolve) => app.server.once('request', () => setImmediate(resolve)))
    req.write(body.slice(0, 10))
    await received
    const closed = app.close()
    req.end(body.slice(10))
    const answer = await answered
    assert.equal(answer.status, 200, answer.text)
    assert.equal(JSON.parse(answer.text).verb, 'post')
    assert.equal(answer.connection, 'close')
    await closed
    agent.destroy()
  })
})
