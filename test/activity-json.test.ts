/** The stored-body contract the fast read path relies on (engine/activity-json.ts), pinned against the writers. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { prepareActivity, readActivity } from '../src/engine/activity.js'
import { activityJson, bodyId } from '../src/engine/activity-json.js'
import { buildFeedGroups } from '../src/engine/feed-groups.js'

describe('stored body layout', () => {
  const groups = buildFeedGroups()
  const tricky = { text: '","origin":null,"x', nested: { origin: 'no' }, n: 1, to: ['user:b'] }
  it('splices to the same bytes as parse + stringify, for every origin', () => {
    for (const input of [
      { actor: 'a', verb: 'v', object: 'o' },
      { actor: 'a', verb: 'v', object: 'o', ...tricky },
    ]) {
      const { body, activity } = prepareActivity(groups, input)
      assert.equal(bodyId(body), activity.id)
      for (const origin of [null, 'user:a', 'user:"quoted"']) {
        assert.equal(activityJson(body, origin), JSON.stringify(readActivity(body, origin)))
      }
      // A re-targeted body (targets.ts writes JSON.stringify of the activity with origin null) keeps the form.
      const retargeted = JSON.stringify({ ...activity, to: ['user:c'], origin: null })
      assert.equal(activityJson(retargeted, 'user:a'), JSON.stringify(readActivity(retargeted, 'user:a')))
    }
  })
  it('refuses bodies in another form, so the reader parses them instead', () => {
    assert.equal(activityJson('{"actor":"a","id":"x"}', null), undefined)
  })
})
