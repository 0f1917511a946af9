/**
 * The stored body's layout, declared where bodies are written: `prepareActivity` (activity.ts)
 * and `setTargets` (targets.ts) store `JSON.stringify` of an activity whose keys begin
 * `id, actor, verb, object, target, foreign_id, time, origin` (origin always null), every one
 * before `origin` a string. So a body starts `{"id":"<36-char uuid>"`, and its first
 * `,"origin":null` is the top-level key (a quote inside a JSON string is always escaped).
 * Readers that splice bodies into a response instead of parsing them (the server's plain flat
 * read, `Engine.flatPageJson`) rely on this and nothing else; activity-json.test.ts pins it.
 */
import type { PageQuery } from '../store/store.js'
import type { EngineContext } from './context.js'
import type { FeedRef } from './feed-groups.js'
import type { NextPage } from './links.js'
import { nextPage } from './read.js'

const ORIGIN = ',"origin":null'
const ID_PREFIX = '{"id":"'
const UUID_LENGTH = 36

/**
 * The activity a stored body holds, read through a timeline entry of `origin`, as JSON text: the
 * same bytes as `JSON.stringify(readActivity(body, origin))`. Undefined when the body is not in
 * the declared form (written by an older version, say): the caller then parses it.
 */
export function activityJson(body: string, origin: string | null): string | undefined {
  const at = body.indexOf(ORIGIN)
  if (at < 0 || !body.startsWith(ID_PREFIX)) return undefined
  if (origin === null) return body
  return `${body.slice(0, at)},"origin":${JSON.stringify(origin)}${body.slice(at + ORIGIN.length)}`
}

/** The id of the activity a body in the declared form holds. */
export function bodyId(body: string): string {
  return body.slice(ID_PREFIX.length, ID_PREFIX.length + UUID_LENGTH)
}

/** A flat feed page as JSON text: each activity as `readFeed` + `JSON.stringify` gives it. */
export interface FlatPageJson {
  /** The JSON text of each activity, in page order. */
  activities: string[]
  /** Where the next page starts, when there may be one. */
  next?: NextPage
}

/**
 * A page of a flat feed as JSON text, without parsing the stored bodies; undefined when one of
 * them is not in the declared form (the caller then reads the page with `readFeed`).
 */
export async function flatPageJson(
  ctx: EngineContext,
  feed: FeedRef,
  page: PageQuery,
): Promise<FlatPageJson | undefined> {
  const rows = await ctx.readFlatRows(feed, page)
  const activities: string[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const json = activityJson(rows[i].body, rows[i].origin)
    if (json === undefined) return undefined
    activities[i] = json
  }
  const last = rows.at(-1)
  return { activities, next: nextPage(last && bodyId(last.body), rows.length, page) }
}
