/**
 * The core calls every ORM entry (`eddy/typeorm`, `eddy/prisma`, ...) re-exports, so an app that
 * uses one ORM imports explicit publishing, tracking switches and the feed manager from one place.
 * @module
 */
export {
  activityCreated,
  activityDeleted,
  disableModelTracking,
  enableModelTracking,
  feedManager,
  withoutTracking,
} from './index.js'
