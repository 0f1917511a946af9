/**
 * Stream Feeds V3 on Eddy's engine: the HTTP API under `/api/v2` and the WebSocket at
 * `/api/v2/connect` (docs/v3.md says what maps and what does not).
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../server/context.js'
import { activityRoutes } from './activities.js'
import { activityPartialBatchRoutes } from './activity-partial-batch.js'
import { activityQueryRoutes } from './activity-query.js'
import { bookmarkRoutes } from './bookmarks.js'
import { collectionRoutes } from './collections.js'
import { commentRoutes } from './comments.js'
import { feedBatchRoutes } from './feed-batches.js'
import { feedGroupRoutes } from './feed-group-routes.js'
import { feedRoutes } from './feed-routes.js'
import { feedVisibilityRoutes } from './feed-visibility.js'
import { followSuggestionRoutes } from './follow-suggestions.js'
import { followRoutes } from './follows.js'
import { GuestBudget, type GuestOptions, guestOption } from './guest-budget.js'
import { guestRoutes } from './guests.js'
import { type Edge, v3Errors, v3route } from './http.js'
import { Hub } from './hub.js'
import { memberRoutes } from './members.js'
import { notificationRoutes } from './notification-routes.js'
import { ownFieldRoutes } from './own-fields.js'
import { pinQueryRoutes } from './pin-query.js'
import { pinRoutes } from './pins.js'
import { pollRoutes } from './polls.js'
import { reactionRoutes } from './reactions.js'
import { attachSocket, DEFAULT_SOCKET_LIMITS, type SocketLimits } from './socket.js'
import { userDataRoutes } from './user-data.js'
import { userStandingRoutes } from './user-standing.js'
import { userRoutes } from './users.js'
import { visibilityRoutes } from './visibility-routes.js'

/** The V3 edge's own bounds (the server's options give them; each has a default). */
export interface V3Options {
  /** WebSocket bounds over {@link DEFAULT_SOCKET_LIMITS}. */
  socket?: Partial<SocketLimits>
  /** CreateGuest's budget per client address, or false for no guests (guest-budget.ts). */
  guests?: Required<GuestOptions> | false
}

/** Registers the V3 API on `app` and its WebSocket on `app.server` (before Faye attaches). */
export function registerV3(app: FastifyInstance, ctx: ServerContext, options: V3Options = {}): void {
  const hub = new Hub(ctx)
  app.register(
    async (scope) => {
      const edge: Edge = { app: scope, ctx, served: new Set() }
      v3route(edge, 'GET', '/app', async () => ({
        app: {
          name: 'eddy',
          async_url_enrich_enabled: false,
          auto_translation_enabled: false,
          file_upload_config: {},
          image_upload_config: {},
        },
      }))
      // First: its hook learns groups defined on other servers before any feed route runs.
      feedGroupRoutes(edge)
      visibilityRoutes(edge)
      userRoutes(edge)
      userStandingRoutes(edge, hub)
      userDataRoutes(edge, hub)
      guestRoutes(edge, new GuestBudget(options.guests ?? guestOption(undefined)))
      feedRoutes(edge, hub)
      feedBatchRoutes(edge, hub)
      feedVisibilityRoutes(edge, hub)
      notificationRoutes(edge, hub)
      activityRoutes(edge, hub)
      activityPartialBatchRoutes(edge, hub)
      pollRoutes(edge, hub)
      activityQueryRoutes(edge)
      followRoutes(edge, hub)
      followSuggestionRoutes(edge)
      reactionRoutes(edge, hub)
      commentRoutes(edge, hub)
      bookmarkRoutes(edge, hub)
      collectionRoutes(edge)
      pinRoutes(edge, hub)
      pinQueryRoutes(edge)
      memberRoutes(edge, hub)
      ownFieldRoutes(edge)
      v3Errors(scope, edge.served)
    },
    { prefix: '/api/v2' },
  )
  const detach = attachSocket(app.server, ctx, hub, { ...DEFAULT_SOCKET_LIMITS, ...options.socket })
  app.addHook('preClose', (done) => {
    detach()
    done()
  })
}
