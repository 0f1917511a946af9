/** Contract cases: optimistic writes (`expect`), the basis of every read-modify-write. */
import assert from 'node:assert/strict'
import { WriteConflict } from '../../store/store.js'
import { activity, flat, flatNs, sk, type Test } from './fixtures.js'

export function expectTests(test: Test): void {
  test('applies a write whose expected bodies are still stored', async (store) => {
    const first = activity(1)
    await store.write({ expect: [{ sk: sk(1), body: null }], activities: [first], add: [flat('user:a', 1)] })
    const changed = { ...first, body: '{"changed":true}' }
    await store.write({ expect: [{ sk: sk(1), body: first.body }], activities: [changed] })
    assert.equal((await store.activities.getActivities([sk(1)])).get(sk(1))?.body, changed.body)
  })

  test('rejects the whole write when an expected body changed, and applies nothing', async (store) => {
    const first = activity(1)
    await store.write({ activities: [first], add: [flat('user:a', 1)] })
    const stale = { sk: sk(1), body: '{"stale":true}' }
    await assert.rejects(
      store.write({
        expect: [stale],
        activities: [{ ...first, body: '{"lost":true}' }, activity(2)],
        add: [flat('user:a', 2), flat('user:b', 1)],
        remove: [{ feed: 'user:a', sk: sk(1) }],
      }),
      (err: unknown) => err instanceof WriteConflict && err.sk === sk(1),
    )
    assert.equal((await store.activities.getActivities([sk(1)])).get(sk(1))?.body, first.body)
    assert.equal((await store.activities.getActivities([sk(2)])).size, 0)
    assert.deepEqual(await flatNs(store, 'user:a'), [1])
    assert.deepEqual(await flatNs(store, 'user:b'), [])
  })

  test('treats an expected absence as a conflict once the activity exists', async (store) => {
    await store.write({ activities: [activity(1)] })
    await assert.rejects(
      store.write({ expect: [{ sk: sk(1), body: null }], activities: [activity(1, 'other')] }),
      WriteConflict,
    )
    await assert.rejects(store.write({ expect: [{ sk: sk(2), body: '{}' }] }), WriteConflict)
  })
}
