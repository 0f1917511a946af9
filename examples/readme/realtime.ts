/** The README's "Realtime" example, as a script (`test/readme.test.ts` runs it in a temp dir). */
import { connect } from 'eddy'

const client = connect({ store: 'memory' })
await client.feed('timeline', 'bob').follow('user', 'alice')
// Each message: { deleted, deleted_foreign_ids, new, feed, app_id, published_at, unseen?, unread? }
const delivered = new Promise<{ new: unknown[] }>((resolve) => {
  const subscription = client.feed('timeline', 'bob').subscribe((message) => {
    subscription.cancel()
    resolve(message) // the fan-out delivery of alice's post
  })
})
const notified = new Promise<{ unseen?: number }>((resolve) => {
  client.feed('notification', 'carol').subscribe(resolve) // unseen/unread: exact counts
})
await client
  .feed('user', 'alice')
  .addActivity({ actor: 'alice', verb: 'post', object: 'post:1', to: ['notification:carol'] })
const [timeline, notification] = await Promise.all([delivered, notified])
console.log(JSON.stringify({ timeline: timeline.new.length, unseen: notification.unseen }))
await client.close()
