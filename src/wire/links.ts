/**
 * Stream v1's `next` URLs: the engine returns cursors ({@link NextPage}) and asks a {@link Links}
 * port for the links it nests in reaction fields; these format both as the official clients
 * follow them. Feed pages link to a relative path (as Stream does); reaction links are absolute
 * when the server knows its origin (`base`, e.g. `http://127.0.0.1:8000`), else paths.
 */
import type { Links, NextPage, ReactionFilterNext } from '../engine/links.js'

/** Which feed page `next` points into, and what it carries. */
export interface FeedLinkOptions {
  /** The enriched read (`enrich/feed/`), whose next page is enriched alike. */
  enrich?: boolean
  /** Extra query parameters the next page repeats (reaction flags), already encoded: `a=1&b=2`. */
  carry?: string
}

/** Stream's `next` for a feed page: a relative URL with the cursor, or '' on the last page. */
export function feedNextLink(
  feed: { slug: string; userId: string },
  next: NextPage | undefined,
  options: FeedLinkOptions = {},
): string {
  if (!next) return ''
  const path = options.enrich ? '/api/v1.0/enrich/feed/' : '/api/v1.0/feed/'
  const link = `${path}${feed.slug}/${feed.userId}/?${next.cursor}=${next.id}&limit=${next.limit}`
  return options.carry ? `${link}&${options.carry}` : link
}

/** The Stream v1 links of reaction fields and reaction pages, under `base` ('' for paths). */
export function streamLinks(base = ''): Links {
  return {
    activityReactions: (activityId, kind, next) =>
      `${base}/api/v1.0/reaction/activity_id/${activityId}/${kind}/?${next.cursor}=${next.id}&limit=${next.limit}&withOwnChildren=false`,
    reactionFilter: (next: ReactionFilterNext) => {
      const kind = next.kind === undefined ? '' : `${next.kind}/`
      const path = `${base}/api/v1.0/reaction/${next.lookup}/${encodeURIComponent(next.value)}/${kind}`
      const flags = next.ownChildren
        ? `&with_own_children=true${next.childrenUser ? `&children_user_id=${next.childrenUser}` : ''}`
        : ''
      const filter = next.filterUser ? `&filter_user_id=${next.filterUser}` : ''
      return `${path}?${next.cursor}=${next.id}&limit=${next.limit}${flags}${filter}`
    },
  }
}
