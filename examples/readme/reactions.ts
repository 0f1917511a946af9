/** The README's "Reactions" example, as a script (`test/readme.test.ts` runs it in a temp dir). */
import { connect } from 'eddy'

const client = connect({ store: 'memory' })
const post = await client
  .feed('user', 'alice')
  .addActivity({ actor: 'SU:alice', verb: 'post', object: 'post:1' })
// bob likes it; alice's notification feed gets the like as an activity
const like = await client.reactions.add(
  'like',
  post,
  {},
  { userId: 'bob', targetFeeds: ['notification:alice'] },
)
await client.reactions.addChild('comment', like, { text: 'me too' }, { userId: 'carl' }) // up to 3 levels
const { results } = await client.feed('user', 'alice').get({
  withRecentReactions: true, // latest_reactions: { like: [...] }, each with latest_children
  withReactionCounts: true, // reaction_counts: { like: 1 }
  withOwnReactions: true, // own_reactions of user_id (on the server: the user token's user)
  user_id: 'bob',
})
const { unseen } = await client.feed('notification', 'alice').get() // unseen: 1
const { children_counts } = await client.reactions.get(like.id) // { comment: 1 }
await client.reactions.delete(like.id) // with its children; alice's notification goes too
const after = await client.feed('user', 'alice').get({ withReactionCounts: true, user_id: 'bob' })

console.log(
  JSON.stringify({
    counts: results[0].reaction_counts,
    children: children_counts,
    unseen,
    after: after.results[0].reaction_counts,
  }),
)
await client.close()
