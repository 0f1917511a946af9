/**
 * V3 feed visibility levels (ListFeedVisibilities, GetFeedVisibility; the app's token only, as
 * the spec serves them server-side): Eddy's five fixed levels, each with the capabilities its rule
 * grants every role (engine/v3-access.ts, the rule reads and writes obey). The levels are that
 * code, not stored settings, so UpdateFeedVisibility stays unserved (501): changing a grant here
 * would not change what the rule lets anyone do.
 */
import { notFound } from '../engine/errors.js'
import { type FeedCapability, VISIBILITIES, type Visibility, visibilityGrants } from '../engine/v3-access.js'
import type { FeedVisibilityResponse, Permission } from './gen/spec.js'
import { type Edge, requireApp, v3route } from './http.js'

/** One level as V3's FeedVisibilityResponse: its grants by role, and a permission per capability. */
function visibilityResponse(level: Visibility): FeedVisibilityResponse {
  const grants = visibilityGrants(level)
  const capabilities = [...new Set(Object.values(grants).flat())].sort()
  const others = Object.entries(grants).filter(([role]) => role !== 'feed_owner')
  const permissions: Permission[] = capabilities.map((capability: FeedCapability) => ({
    id: capability,
    name: capability,
    action: capability,
    description: `${capability} on a ${level} feed, for the roles its grants name`,
    // Granted to the feed's owner alone: an owner permission.
    owner: !others.some(([, caps]) => caps.includes(capability)),
    owner_resource: 'feed',
    same_team: false,
    custom: false,
    level: 'app',
    tags: [],
  }))
  return { name: level, grants, permissions }
}

/** Registers the V3 feed visibility routes. */
export function visibilityRoutes(edge: Edge): void {
  v3route(edge, 'GET', '/feeds/feed_visibilities', async ({ caller }) => {
    requireApp(caller)
    return { feed_visibilities: Object.fromEntries(VISIBILITIES.map((v) => [v, visibilityResponse(v)])) }
  })

  v3route(edge, 'GET', '/feeds/feed_visibilities/:name', async ({ caller, params }) => {
    requireApp(caller)
    const level = VISIBILITIES.find((v) => v === params.name)
    if (!level)
      throw notFound(`feed visibility ${params.name} does not exist (levels: ${VISIBILITIES.join(', ')})`)
    return { feed_visibility: visibilityResponse(level) }
  })
}
