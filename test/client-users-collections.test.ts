/** The embedded client's users and collections: getstream's API, the engine's rules, on memory and SQLite. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connect } from '../src/client/client.js'

for (const store of ['memory', 'sqlite::memory:']) {
  describe(`${store}: client users and collections`, () => {
    it('creates, reads, updates and deletes users as getstream does', async () => {
      const client = connect({ store })
      try {
        const ann = await client.user('ann').create({ name: 'Ann' })
        assert.deepEqual(ann.data, { name: 'Ann' })
        assert.equal(ann.ref(), 'SU:ann')
        await assert.rejects(client.user('ann').create({ name: 'x' }), { exception: 'ConflictException' })
        assert.deepEqual((await client.user('ann').getOrCreate({ name: 'other' })).data, { name: 'Ann' })
        assert.deepEqual((await client.user('ann').update({ name: 'Annie' })).data, { name: 'Annie' })
        await client.feed('timeline', 'ann').follow('user', 'bob')
        const profile = await client.user('ann').profile()
        assert.equal(profile.full?.following_count, 1)
        assert.equal(profile.full?.followers_count, 0)
        await client.user('ann').delete()
        await assert.rejects(client.user('ann').get(), { exception: 'DoesNotExistException' })
        await assert.rejects(client.user('bad id!').create({}), { exception: 'InputException' })
      } finally {
        await client.close()
      }
    })

    it('adds, reads, updates, deletes, upserts, selects and deletes many entries', async () => {
      const client = connect({ store })
      try {
        const food = await client.collections.add('food', 'pizza', { kind: 'italian' })
        assert.equal(food.ref(), 'SO:food:pizza')
        assert.equal(food.full.foreign_id, 'food:pizza')
        await assert.rejects(client.collections.add('food', 'pizza', { a: 1 }), {
          exception: 'ConflictException',
        })
        const generated = await client.collections.add('food', null, { kind: 'any' })
        assert.match(generated.id, /^[0-9a-f-]{36}$/)
        assert.deepEqual((await client.collections.update('food', 'pizza', { kind: 'napoli' })).data, {
          kind: 'napoli',
        })
        assert.deepEqual((await client.collections.get('food', 'pizza')).data, { kind: 'napoli' })
        await client.collections.delete('food', 'pizza')
        await assert.rejects(client.collections.get('food', 'pizza'), { exception: 'DoesNotExistException' })
        const up = await client.collections.upsert('drink', [{ id: 'tea', hot: true }, { id: 'cola' }])
        assert.deepEqual(up.data.drink, [{ id: 'tea', hot: true }, { id: 'cola' }])
        const selected = await client.collections.select('drink', ['tea', 'none'])
        assert.deepEqual(
          selected.response.data.map((e) => [e.id, e.data]),
          [['tea', { id: 'tea', hot: true }]],
        )
        await client.collections.deleteMany('drink', ['tea', 'cola'])
        assert.deepEqual((await client.collections.select('drink', 'tea')).response.data, [])
        // A collection named __proto__ stays a collection.
        const proto = await client.collections.upsert('__proto__', { id: 'x' })
        assert.deepEqual(Object.keys(proto.data), ['__proto__'])
      } finally {
        await client.close()
      }
    })
  })
}
