/** Schemas of the follow routes (stream-api.md §3.3). */
import { Type } from 'typebox'
import { Empty, ERRORS, FeedParams, param, query, timedObject } from './common.js'

/** Most relations one follow_many or unfollow_many call may carry (Stream's limit). */
export const MAX_FOLLOW_MANY = 2_500

const tags = ['follows']
const FeedId = (description: string) =>
  Type.Unknown({ description: `${description}, a feed id like \`user:42\`` })

/** One relation as `followers/` and `following/` list it. */
const Relation = Type.Object({
  feed_id: Type.String(),
  target_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

/** `POST feed/:slug/:id/follows/` (and `following/`). */
export const follow = {
  tags,
  summary:
    'Follow a feed: the source feed gets its activities from now on (and up to activity_copy_limit past ones)',
  params: FeedParams,
  body: Type.Object(
    {
      target: FeedId('the feed to follow'),
      activity_copy_limit: Type.Optional(
        Type.Unknown({ description: 'past activities to copy in, 0 to 1000 (default 100)' }),
      ),
      target_token: Type.Optional(
        Type.Unknown({ description: "the target feed's signed token (stream-python, stream-php); verified" }),
      ),
    },
    { additionalProperties: false, title: 'a follow' },
  ),
  response: { 200: Empty, ...ERRORS },
}

/** `DELETE feed/:slug/:id/follows/:target/`. */
export const unfollow = {
  tags,
  summary: "Unfollow a feed; keep_history keeps the target's activities already delivered",
  params: Type.Object({
    ...FeedParams.properties,
    target: Type.String({ description: 'feed id `slug:id`' }),
  }),
  querystring: query({ keep_history: param('true to keep delivered activities (any boolean spelling)') }),
  response: { 200: Empty, ...ERRORS },
}

/** `GET feed/:slug/:id/followers/` and `following/`. */
export const listFollows = {
  tags,
  summary:
    'The feeds that follow this one (followers/) or that it follows (following/, follows/), newest first',
  params: FeedParams,
  querystring: query({
    limit: param('page size, at most 500 (default 25)'),
    offset: param('relations to skip, at most 999'),
    filter: param('only these feeds: comma-separated ids like `user:1,user:2`'),
  }),
  response: { 200: timedObject({ results: Type.Array(Relation) }), ...ERRORS },
}

const Count = Type.Object({ feed: Type.String(), count: Type.Integer() })

/** `GET stats/follow/`. */
export const followStats = {
  tags,
  summary: 'How many feeds follow a feed, and how many it follows',
  querystring: query({
    followers: param('count the followers of this feed id'),
    following: param('count what this feed id follows'),
    followers_slugs: param('only followers in these groups (comma-separated)'),
    following_slugs: param('only followed feeds in these groups (comma-separated)'),
  }),
  response: {
    200: timedObject({
      results: Type.Object({ followers: Type.Optional(Count), following: Type.Optional(Count) }),
    }),
    ...ERRORS,
  },
}

/** `POST follow_many/` (server tokens). */
export const followMany = {
  tags,
  summary: 'Create many follows at once (server tokens)',
  querystring: query({ activity_copy_limit: param('past activities to copy into each source feed') }),
  body: Type.Array(
    Type.Object(
      { source: FeedId('the following feed'), target: FeedId('the followed feed') },
      { additionalProperties: false, title: 'a follow' },
    ),
    { maxItems: MAX_FOLLOW_MANY, title: `a list of at most ${MAX_FOLLOW_MANY} { source, target }` },
  ),
  response: { 200: Empty, ...ERRORS },
}

/** `POST unfollow_many/` (server tokens). */
export const unfollowMany = {
  tags,
  summary: 'Remove many follows at once (server tokens)',
  body: Type.Array(
    Type.Object(
      {
        source: FeedId('the following feed'),
        target: FeedId('the followed feed'),
        keep_history: Type.Optional(Type.Boolean({ description: 'true keeps delivered activities' })),
      },
      { additionalProperties: false, title: 'an unfollow' },
    ),
    {
      maxItems: MAX_FOLLOW_MANY,
      title: `a list of at most ${MAX_FOLLOW_MANY} { source, target, keep_history }`,
    },
  ),
  response: { 200: Empty, ...ERRORS },
}
