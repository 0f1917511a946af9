/**
 * What a grouped card says, worked out from a group's enriched activities: "You and Ben Carter
 * liked, Ada rechirped" over one chirp, "Ada followed Leo, Mara and 2 others", "Ada and 3 others
 * liked your chirp". The templates only lay the result out.
 */
import type { EnrichedActivity } from '../../src/django/index.js'
import { Chirp, User } from './entities.js'

/** Some users by name, the viewer first, and how many more there are. */
export interface Names {
  users: User[]
  others: number
}

/** One clause of a chirp card's context line: "Ada and Ben liked". */
export interface Part extends Names {
  verb: string
  icon: string
}

/** A group as enriched for a page, with what its card says. */
export interface DescribedGroup {
  activities: EnrichedActivity[]
  actor_count: number
  activity_count: number
  /** Everyone who acted, the viewer first ("You and 2 others"). */
  actors?: Names
  /** Home timeline chirp cards: the chirp, and who liked, rechirped or replied. */
  subject?: Chirp
  parts?: Part[]
  /** Home timeline follow groups: whom the actor followed. */
  followed?: Names
}

const PAST: Record<string, [string, string]> = {
  like: ['liked', 'heart-filled'],
  rechirp: ['rechirped', 'rechirp'],
  reply: ['replied', 'reply'],
}

/** Distinct users, the viewer first, at most two named; `total` counts beyond the shown ones. */
export function names(list: unknown[], viewerId: number, total?: number): Names {
  const byId = new Map<number, User>()
  for (const u of list) if (u instanceof User && !byId.has(u.id)) byId.set(u.id, u)
  const users = [...byId.values()].sort((a, b) => Number(b.id === viewerId) - Number(a.id === viewerId))
  const count = Math.max(total ?? users.length, users.length)
  // "A and B" names both; from three on, "A, B and 2 others".
  const shown = users.slice(0, 2)
  return { users: shown, others: count - shown.length }
}

/** The chirp a chirp-card activity is about: the one liked or rechirped, or the chirp itself. */
function subjectOf(activity: EnrichedActivity): unknown {
  return activity.verb === 'rechirp' ? activity.target : activity.object
}

/** Adds `actors` to every group, and `subject`/`parts` or `followed` to home timeline groups. */
export function describe(groups: DescribedGroup[], viewerId: number, card: boolean): void {
  for (const group of groups) {
    const acts = group.activities
    group.actors = names(
      acts.map((a) => a.actor),
      viewerId,
      group.actor_count,
    )
    if (!card) continue
    if (acts.some((a) => a.verb === 'follow')) {
      group.followed = names(
        acts.map((a) => a.object),
        viewerId,
        new Set(acts.map((a) => String((a.object as User)?.id))).size + (group.activity_count - acts.length),
      )
      continue
    }
    group.subject = acts.map(subjectOf).find((c): c is Chirp => c instanceof Chirp)
    const verbs = [...new Set(acts.map((a) => String(a.verb)))].filter((v) => v in PAST)
    group.parts = verbs.map((verb) => ({
      verb: PAST[verb][0],
      icon: PAST[verb][1],
      ...names(
        acts.filter((a) => a.verb === verb).map((a) => a.actor),
        viewerId,
      ),
    }))
  }
}
