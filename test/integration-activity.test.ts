/**
 * stream-django's test_activity.py (tests 1-8), ported, plus the override points it left untested.
 */
import assert from 'node:assert/strict'
import { after, beforeEach, describe, it } from 'node:test'
import {
  activityOf,
  configure,
  createActivity,
  createModelReference,
  createReference,
  modelContentType,
  modelRef,
  registerActivityModel,
  resetSettings,
  slugify,
} from '../src/django/index.js'
import { Activity } from '../src/django/typeorm/index.js'
import { Like, Pin, Post, Tweet, User } from './fixtures/integration/entities.js'
import { forbiddenClient } from './fixtures/integration/recording.js'

function tweet(): Tweet {
  const t = new Tweet()
  t.id = 42
  t.actor = 'tommaso'
  return t
}

describe('activity model (test_activity.py)', () => {
  beforeEach(() => {
    configure({ client: forbiddenClient })
  })
  after(() => resetSettings())

  it('1. createReference of a non-model returns it unchanged', () => {
    assert.equal(createReference('not-a-model'), 'not-a-model')
  })
  it('2. verb is the entity name in lower case', () => {
    assert.equal(activityOf(tweet()).verb, 'tweet')
  })
  it('3. an overridden actor passes through', () => {
    assert.equal(activityOf(tweet()).actor, 'tommaso')
  })
  it('4. object is a reference to the row', () => {
    assert.equal(activityOf(tweet()).object, 'Tweet:42')
  })
  it('5. notify targets become `to`', () => {
    assert.deepEqual(createActivity(tweet()).to, ['notification:thierry'])
  })
  it('6. foreign id defaults to the object reference', () => {
    assert.equal(activityOf(tweet()).foreignId, 'Tweet:42')
  })
  it('7. foreign id equals createModelReference(row)', () => {
    const t = tweet()
    assert.equal(activityOf(t).foreignId, createModelReference(t))
  })
  it('8. modelContentType is the entity name', () => {
    assert.equal(modelContentType(Tweet), 'Tweet')
  })
})

describe('activity model: override points and references', () => {
  beforeEach(() => {
    configure({ client: forbiddenClient })
  })
  after(() => resetSettings())

  it('builds the whole payload for a Pin (actor attribute, time from createdAt)', () => {
    const author = Object.assign(new User(), { id: 7 })
    const pin = Object.assign(new Pin(), { id: 5, author, createdAt: new Date('2026-01-02T03:04:05.678Z') })
    assert.deepEqual(createActivity(pin), {
      actor: 'User:7',
      verb: 'pin',
      object: 'Pin:5',
      foreign_id: 'Pin:5',
      time: '2026-01-02T03:04:05.678000',
    })
    assert.equal(activityOf(pin).actorId, '7')
  })

  it('defaults the actor attribute to `user`, supports Dates in extra data, custom verb', () => {
    const user = Object.assign(new User(), { id: 3 })
    const post = Object.assign(new Post(), {
      id: 9,
      user,
      title: 'hello',
      createdAt: new Date('2026-05-01T00:00:00Z'),
    })
    const activity = createActivity(post)
    assert.equal(activity.actor, 'User:3')
    assert.equal(activity.verb, 'post')
    assert.deepEqual(activity.published, { at: '2026-05-01T00:00:00.000000' })
    assert.equal(JSON.parse(JSON.stringify(activity)).title, 'hello')
  })

  it('falls back to `actor` when there is no `user` (the README promise)', () => {
    class Note {
      id = 1
      actor = Object.assign(new User(), { id: 11 })
    }
    registerActivityModel(Note)
    assert.equal(activityOf(new Note()).actor, 'User:11')
    assert.equal(activityOf(new Note()).actorId, '11')
  })

  it('explains a missing actor instead of crashing obscurely', () => {
    class Orphan {
      id = 1
    }
    registerActivityModel(Orphan)
    assert.throws(() => activityOf(new Orphan()).actorId, /no user or actor/)
  })

  it('objectAttr and foreignId are independent (a Like points at its pin)', () => {
    const user = Object.assign(new User(), { id: 1 })
    const pin = Object.assign(new Pin(), { id: 2 })
    const like = Object.assign(new Like(), { id: '6f1c2b1e-0000-4000-8000-000000000001', user, pin })
    const a = createActivity(like)
    assert.equal(a.object, 'Pin:2')
    assert.equal(a.foreign_id, 'Like:6f1c2b1e-0000-4000-8000-000000000001')
    assert.equal(createModelReference(like), 'Like:6f1c2b1e-0000-4000-8000-000000000001')
  })

  it('class members override options, getters and methods alike', () => {
    @Activity({ verb: 'from-options' })
    class Memo {
      id = 4
      user = modelRef('User', 8)
      activityVerb() {
        return 'from-member'
      }
      get activityAuthorFeed() {
        return 'profile'
      }
    }
    const view = activityOf(new Memo())
    assert.equal(view.verb, 'from-member')
    assert.equal(view.authorFeed, 'profile')
    assert.equal(view.actor, 'User:8')
    assert.equal(view.actorId, '8')
  })

  it('notify accepts feed objects and "slug:id" strings', () => {
    const t = tweet()
    Object.defineProperty(t, 'activityNotify', {
      value: ['notification:a', { slug: 'notification', userId: 'b' }],
    })
    assert.deepEqual(createActivity(t).to, ['notification:a', 'notification:b'])
  })

  it('extra data cannot override a core field', () => {
    const t = tweet()
    Object.defineProperty(t, 'extraActivityData', { value: { verb: 'hijack' } })
    assert.throws(() => createActivity(t), /core field verb/)
  })

  it('an unsaved row cannot be referenced', () => {
    assert.throws(() => createModelReference(new Pin()), /no primary key value yet/)
  })

  it('references of plain values and ModelRef', () => {
    assert.equal(createReference(42), 42)
    assert.equal(createReference(modelRef('User', 'abc')), 'User:abc')
  })

  it('slugify matches Django for class names', () => {
    assert.equal(slugify('BlogPost'), 'blogpost')
    assert.equal(slugify('Café Entry'), 'cafe-entry')
  })

  it('the author feed follows the userFeed setting at runtime', () => {
    const pin = Object.assign(new Pin(), { id: 1, author: Object.assign(new User(), { id: 1 }) })
    assert.equal(activityOf(pin).authorFeed, 'user')
    configure({ userFeed: 'profile' })
    assert.equal(activityOf(pin).authorFeed, 'profile')
    configure({ userFeed: undefined })
    assert.equal(activityOf(pin).authorFeed, 'user')
  })
})
