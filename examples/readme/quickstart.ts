/** The README's "Quick start" example, as a script (`test/readme.test.ts` runs it in a temp dir). */
import { connect } from 'eddy'

const client = connect() // embedded; feeds live in ./eddy.sqlite
await client.feed('timeline', 'bob').follow('user', 'alice')
await client.feed('timeline_aggregated', 'bob').follow('user', 'alice')
await client
  .feed('user', 'alice')
  .addActivity({ actor: 'alice', verb: 'post', object: 'post:1', to: ['notification:carol'] })
await client.flush() // fan-out runs in the background; flush waits for it

const { results } = await client.feed('timeline', 'bob').get({ limit: 10 }) // flat
const groups = await client.feed('timeline_aggregated', 'bob').get() // "alice posted 1 thing today"
const { unseen } = await client.feed('notification', 'carol').get({ mark_seen: true }) // unseen: 1

console.log(JSON.stringify({ flat: results.length, groups: groups.results.length, unseen }))
await client.close()
