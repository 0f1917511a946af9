/**
 * What the Faye transports (faye-transport.ts) share: the bounded parse of a Faye request's
 * Bayeux messages, and plain HTTP answers written on the raw server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { type Bounds, checkBounds } from '../engine/bounds.js'
import { inputError } from '../engine/errors.js'
import { errorResponse } from './errors.js'

/** How deep a Faye request may nest (Bayeux messages use three or four levels) and how many values it may hold. */
export const FAYE_BOUNDS: Bounds = { depth: 16, values: 10_240 }
/** Most Bayeux messages in one request or WebSocket message (a client batches a handful). */
export const MAX_MESSAGES = 100

/** A parsed Bayeux message: an object with a channel (the rest is the Bayeux server's to check). */
export type BayeuxInput = Record<string, unknown> & { channel: string }

/**
 * Messages in `text` (one message or a list), bounded as the module comment says; throws a 400
 * EddyError naming the rule otherwise.
 */
export function parseMessages(text: string): BayeuxInput[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw inputError(
      'message must be JSON: a Bayeux message or a list of them',
      text.slice(0, 100),
      'message',
    )
  }
  checkBounds(value, 'message', 'a Faye request', FAYE_BOUNDS)
  const list: unknown[] = Array.isArray(value) ? value : [value]
  if (list.length > MAX_MESSAGES)
    throw inputError(`a Faye request may hold at most ${MAX_MESSAGES} messages`, list.length, 'message')
  for (const m of list) {
    if (
      m === null ||
      typeof m !== 'object' ||
      Array.isArray(m) ||
      typeof (m as BayeuxInput).channel !== 'string'
    )
      throw inputError('each Bayeux message must be an object with a string channel', m, 'message')
  }
  return list as BayeuxInput[]
}

/** The first value of a header that may repeat. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Whether `request` asks for an EventSource stream. */
export function isEventSource(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '').split(/\s*,\s*/).includes('text/event-stream')
}

/** Answers `status` with `body` (text as is, anything else as JSON) unless an answer went out already. */
export function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown,
): void {
  if (response.headersSent || response.destroyed) return
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const type = typeof body === 'string' ? {} : { 'Content-Type': 'application/json; charset=utf-8' }
  response.writeHead(status, { ...type, ...headers, 'Content-Length': String(Buffer.byteLength(text)) })
  response.end(text)
}

/** Answers with `error` in Stream's shape. */
export function fail(response: ServerResponse, started: number, error: unknown): void {
  const { status, body } = errorResponse(error, started)
  send(response, status, {}, body)
}

/** Answers an upgrade request with a bare HTTP status and ends the socket. */
export function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
