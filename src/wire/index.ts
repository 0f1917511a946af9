/**
 * Stream Feeds v1 on the wire, shared by the embedded client and the server: response shapes,
 * `next` URLs (the engine returns cursors and takes a links port) and `duration`.
 */
export { duration, timed, withDurationJson } from './duration.js'
export { type FollowRelation, relations } from './follows.js'
export { type FeedLinkOptions, feedNextLink, streamLinks } from './links.js'
export {
  type AggregatedFeedResponse,
  type APIResponse,
  type FeedResponse,
  type FeedResponseHead,
  type FlatFeedResponse,
  feedResponse,
  feedResponseHead,
  type NotificationFeedResponse,
} from './responses.js'
