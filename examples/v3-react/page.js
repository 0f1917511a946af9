/**
 * The page (bundled for the browser by server.ts): Stream's Feeds V3 React SDK
 * (@stream-io/feeds-react-sdk 1.0.14 on @stream-io/feeds-client 2.2.0, React 17) against
 * `eddy serve`'s V3 API and WebSocket. The signed-in user connects, watches their timeline, posts
 * to their user feed, likes and comments; others' posts arrive over the WebSocket. Plain
 * createElement calls keep the repository free of a JSX setup. The settings come from `/config`
 * (a real app issues the user token after its own login).
 */
import {
  StreamFeed,
  StreamFeeds,
  useActivityComments,
  useCreateFeedsClient,
  useFeedActivities,
  useFeedsClient,
} from '@stream-io/feeds-react-sdk'
import React from 'react'
import ReactDOM from 'react-dom'

const h = React.createElement

/** The like button: the count of likes, pressed when the reader liked it. */
function Like({ activity }) {
  const client = useFeedsClient()
  const count = activity.reaction_groups?.like?.count ?? 0
  const mine = (activity.own_reactions ?? []).some((r) => r.type === 'like')
  const toggle = () =>
    mine
      ? client.deleteActivityReaction({ activity_id: activity.id, type: 'like' })
      : client.addActivityReaction({ activity_id: activity.id, type: 'like' })
  return h('button', { className: 'like', 'aria-pressed': mine, onClick: toggle }, `♥ ${count}`)
}

/** An activity's comments (read once shown) and a field to add one. */
function Comments({ activity }) {
  const client = useFeedsClient()
  const { comments, loadNextPage } = useActivityComments({ activity })
  const [text, setText] = React.useState('')
  React.useEffect(() => {
    if (comments === undefined) void loadNextPage({ sort: 'first', limit: 10 })
  }, [comments, loadNextPage])
  const submit = async (event) => {
    event.preventDefault()
    if (text.trim() === '') return
    await client.addComment({ object_id: activity.id, object_type: 'activity', comment: text })
    setText('')
  }
  return h(
    'div',
    { className: 'comments' },
    h(
      'ul',
      null,
      (comments ?? []).map((c) =>
        h('li', { key: c.id, className: 'comment' }, h('b', null, c.user.name ?? c.user.id), ' ', c.text),
      ),
    ),
    h(
      'form',
      { onSubmit: submit },
      h('input', {
        'aria-label': 'Comment',
        placeholder: 'Write a comment',
        value: text,
        onChange: (e) => setText(e.target.value),
      }),
      h('button', { type: 'submit' }, 'Comment'),
    ),
  )
}

/** One activity: its author, text, likes and comments. */
function Post({ activity }) {
  return h(
    'article',
    { className: 'post', 'data-id': activity.id },
    h('header', null, h('b', null, activity.user.name ?? activity.user.id)),
    h('p', { className: 'text' }, activity.text),
    h(
      'footer',
      null,
      h(Like, { activity }),
      h('span', { className: 'comment-count' }, ` ${activity.comment_count} comments`),
    ),
    h(Comments, { activity }),
  )
}

/** The form that posts to the reader's user feed (their followers' timelines get it by fan-out). */
function Composer({ userId }) {
  const client = useFeedsClient()
  const [text, setText] = React.useState('')
  const submit = async (event) => {
    event.preventDefault()
    if (text.trim() === '') return
    await client.addActivity({ feeds: [`user:${userId}`], type: 'post', text })
    setText('')
  }
  return h(
    'form',
    { className: 'composer', onSubmit: submit },
    h('textarea', {
      'aria-label': 'Post',
      placeholder: "What's happening?",
      value: text,
      onChange: (e) => setText(e.target.value),
    }),
    h('button', { type: 'submit' }, 'Post'),
  )
}

/** The reader's timeline: its activities as the feed's state has them, newest first. */
function Timeline() {
  const { activities, is_loading } = useFeedActivities()
  if (activities === undefined || (is_loading && activities.length === 0))
    return h('p', { className: 'loading' }, 'Loading…')
  if (activities.length === 0) return h('p', { className: 'empty' }, 'Nothing here yet: post something.')
  return h(
    'section',
    { className: 'timeline' },
    activities.map((a) => h(Post, { key: a.id, activity: a })),
  )
}

/** The signed-in page: connects, watches `timeline:<user>`, and shows the composer and timeline. */
function App({ config }) {
  // A provider, so the client fetches a fresh token when one expires (code 40). It must stay the
  // same function across renders: the hook reconnects whenever it changes.
  const tokenProvider = React.useCallback(async () => {
    const res = await fetch(`/config?user=${encodeURIComponent(config.userId)}`)
    return (await res.json()).token
  }, [config.userId])
  const client = useCreateFeedsClient({
    apiKey: config.apiKey,
    tokenOrProvider: tokenProvider,
    userData: { id: config.userId, name: config.userId },
    options: { base_url: config.baseUrl },
  })
  const feed = React.useMemo(
    // Every new activity of the timeline goes on top, whoever wrote it (the default keeps only
    // the reader's own); they arrive over the WebSocket.
    () => client?.feed('timeline', config.userId, { onNewActivity: () => 'add-to-start' }),
    [client, config.userId],
  )
  React.useEffect(() => {
    void feed?.getOrCreate({ watch: true, limit: 20 })
  }, [feed])
  if (!client || !feed) return h('p', { className: 'loading' }, 'Connecting…')
  return h(
    StreamFeeds,
    { client },
    h(
      StreamFeed,
      { feed },
      h('header', { className: 'bar' }, h('strong', { className: 'who' }, config.userId)),
      h(Composer, { userId: config.userId }),
      h(Timeline),
    ),
  )
}

// `/config?user=` answers { apiKey, token, userId, baseUrl }.
const root = document.getElementById('root')
const user = new URLSearchParams(location.search).get('user') ?? ''
if (user === '') root.textContent = 'Open this page with ?user=<name>, e.g. ?user=alice'
else
  fetch(`/config?user=${encodeURIComponent(user)}`).then(async (res) => {
    const config = await res.json()
    if (!res.ok) root.textContent = config.error
    else ReactDOM.render(h(App, { config }), root)
  })
