/**
 * What the Redis realtime transport puts on its channel, and the checks a received text passes
 * before anything uses it: the channel is shared by every instance (and anything else that can
 * reach the Redis), so a text that is not one of ours is dropped, never trusted or thrown on.
 */
import type { FeedMessage } from '../engine/events.js'

/** The envelope's version: an instance ignores envelopes of another. */
export const ENVELOPE_VERSION = 1

/** Longest feed id accepted from the channel (`slug:userId`; far above the engine's own bounds). */
const MAX_FEED_CHARS = 1024

/** One text on the channel: a feed message, or feeds an instance started listening to. */
export type Envelope =
  | { v: typeof ENVELOPE_VERSION; from: string; kind: 'message'; message: FeedMessage }
  | { v: typeof ENVELOPE_VERSION; from: string; kind: 'listen'; feeds: string[]; until: number }

/** The envelope in `text`, or undefined when it is not a well-formed one (never throws). */
export function parseEnvelope(text: unknown, maxBytes: number, maxFeeds: number): Envelope | undefined {
  // A character is at least one byte: a text longer than the bound in characters is too big.
  if (typeof text !== 'string' || text.length > maxBytes) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(value) || value.v !== ENVELOPE_VERSION || !isText(value.from, 64)) return undefined
  if (value.kind === 'listen') {
    const { feeds, until } = value
    if (!Array.isArray(feeds) || feeds.length > maxFeeds || !feeds.every(isFeed)) return undefined
    if (typeof until !== 'number' || !Number.isFinite(until)) return undefined
    return { v: ENVELOPE_VERSION, from: value.from, kind: 'listen', feeds, until }
  }
  if (value.kind === 'message' && isMessage(value.message))
    return { v: ENVELOPE_VERSION, from: value.from, kind: 'message', message: value.message }
  return undefined
}

/** Whether `m` has the shape of a FeedMessage (what listeners and the Faye endpoint rely on). */
function isMessage(m: unknown): m is FeedMessage {
  if (!isObject(m) || !isFeed(m.feed) || typeof m.app_id !== 'string' || typeof m.published_at !== 'string')
    return false
  if (!Array.isArray(m.new) || !m.new.every(isObject)) return false
  if (!Array.isArray(m.deleted) || !m.deleted.every((id) => typeof id === 'string')) return false
  const pairs = m.deleted_foreign_ids
  if (!Array.isArray(pairs) || !pairs.every(isPair)) return false
  if (m.deleted_v3_ids !== undefined && !(Array.isArray(m.deleted_v3_ids) && m.deleted_v3_ids.every(isPair)))
    return false
  for (const mark of [m.mark_seen, m.mark_read])
    if (mark !== undefined && mark !== true && !(Array.isArray(mark) && mark.every(isString))) return false
  for (const count of [m.unseen, m.unread])
    if (count !== undefined && !(typeof count === 'number' && Number.isSafeInteger(count))) return false
  // Feeds V3 events (src/v3/hub.ts) go to WebSockets as they are: objects only.
  if (m.v3 !== undefined && !(Array.isArray(m.v3) && m.v3.every(isObject))) return false
  return true
}

/**
 * `message` as texts of at most `maxBytes` each: one normally; a message too big (a large batch)
 * is split between its new activities (the first part keeps the removals); a single activity
 * bigger than the bound is left out, and `dropped` counts what was left out.
 */
export function envelopeTexts(
  from: string,
  message: FeedMessage,
  maxBytes: number,
): { texts: string[]; dropped: number } {
  const text = JSON.stringify({ v: ENVELOPE_VERSION, from, kind: 'message', message })
  if (Buffer.byteLength(text) <= maxBytes) return { texts: [text], dropped: 0 }
  if (message.new.length <= 1) return { texts: [], dropped: Math.max(1, message.new.length) }
  const half = Math.ceil(message.new.length / 2)
  const first = envelopeTexts(from, { ...message, new: message.new.slice(0, half) }, maxBytes)
  const rest = envelopeTexts(
    from,
    {
      ...message,
      new: message.new.slice(half),
      deleted: [],
      deleted_foreign_ids: [],
      deleted_v3_ids: undefined,
    },
    maxBytes,
  )
  return { texts: [...first.texts, ...rest.texts], dropped: first.dropped + rest.dropped }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isPair(value: unknown): value is [string, string] {
  return Array.isArray(value) && value.length === 2 && value.every(isString)
}

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max
}

function isFeed(value: unknown): value is string {
  return isText(value, MAX_FEED_CHARS) && value.includes(':')
}
