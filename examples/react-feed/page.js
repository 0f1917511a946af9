/**
 * The page (bundled for the browser by build.ts): GetStream's React components (react-activity-feed
 * 1.4.0, React 17, getstream 7) against `eddy serve`, with realtime. Plain createElement calls keep
 * the repository free of a JSX setup. The signed-in user's settings come from `/config` (a real app
 * issues the user token after its own login); without `?user=` the page greets the visitor and
 * asks for a name.
 */
import React from 'react'
import {
  Activity,
  CommentField,
  CommentList,
  FlatFeed,
  LikeButton,
  NewActivitiesNotification,
  NotificationDropdown,
  StatusUpdateForm,
  StreamApp,
} from 'react-activity-feed'
import ReactDOM from 'react-dom'

const h = React.createElement
const READ = { withRecentReactions: true, withReactionCounts: true, withOwnReactions: true, limit: 10 }

/** The user id of an activity's actor: a user object once enriched, `SU:<id>` in realtime messages. */
function actorId(activity) {
  const actor = activity.actor
  return typeof actor === 'string' ? actor.replace(/^SU:/, '') : actor?.id
}

/** The notification feed of an activity's author: likes and comments are delivered there. */
function authorNotifications(activity) {
  const id = actorId(activity)
  return id ? [`notification:${id}`] : []
}

// The signed-in user's id (from `/config`), for telling the reader's own posts from others'.
let me = ''

/**
 * The timeline's "You have N new activities" bar. The reader's own post arrives over realtime like
 * anyone's; left to the default bar it would wait for a click above an empty feed, so a batch that
 * holds one of the reader's own posts reloads the feed at once instead.
 */
function Notifier(props) {
  const own = props.adds.some((activity) => actorId(activity) === me)
  // onClick is a new function each render: reload once per batch, when `own` turns true.
  const reload = React.useRef(props.onClick)
  reload.current = props.onClick
  React.useEffect(() => {
    if (own) reload.current()
  }, [own])
  if (own) return null
  return h(NewActivitiesNotification, { ...props, labelPlural: 'activities', labelSingle: 'activity' })
}

/** One activity with a like button, a comment field and its comments. */
function Post(props) {
  const { activity } = props
  const targetFeeds = authorNotifications(activity)
  return h(Activity, {
    activity,
    feedGroup: props.feedGroup,
    // An element, not a component defined here: a new component type each render would remount
    // the footer and lose the comment being typed.
    Footer: h(
      'div',
      { className: 'post-footer' },
      h(LikeButton, { activity, targetFeeds }),
      h(CommentField, { activity, targetFeeds }),
      h(CommentList, { activityId: activity.id }),
    ),
  })
}

/** The page: who is signed in, the notification bell, the status form and the timeline. */
function App(config) {
  return h(
    StreamApp,
    {
      apiKey: config.apiKey,
      appId: config.appId,
      token: config.token,
      defaultUserData: { name: config.userId },
      options: { urlOverride: { api: config.api }, fayeUrl: config.faye },
    },
    h(
      'header',
      { className: 'bar' },
      h('strong', { className: 'who' }, config.userId),
      // `right`: the panel opens leftwards from the bell at the right edge (see the page's CSS).
      h(NotificationDropdown, { notify: true, right: true }),
    ),
    h(StatusUpdateForm, { feedGroup: 'user' }),
    h(FlatFeed, {
      feedGroup: 'timeline',
      notify: true,
      options: READ,
      Activity: Post,
      Notifier,
    }),
  )
}

/** The page without `?user=`: a greeting and a name to sign in with (the demo trusts it). */
function Welcome(props) {
  return h(
    'main',
    { className: 'welcome' },
    h('h1', null, 'Welcome to the Eddy feed demo'),
    props.error ? h('p', { role: 'alert' }, props.error) : null,
    h(
      'p',
      null,
      "GetStream's React components against an Eddy server. Pick a name to post as; open a second window with another name to see each other's posts, likes and comments.",
    ),
    h(
      'form',
      { method: 'get', action: '/' },
      h('label', { htmlFor: 'user' }, 'Your name'),
      h('input', {
        id: 'user',
        name: 'user',
        required: true,
        pattern: '[A-Za-z0-9_-]{1,64}',
        placeholder: 'alice',
        title: 'letters, digits, _ or -',
      }),
      h('button', { type: 'submit' }, 'Start'),
    ),
    h(
      'p',
      null,
      'Or try ',
      h('a', { href: '/?user=alice' }, 'alice'),
      ' and ',
      h('a', { href: '/?user=bob' }, 'bob'),
      '.',
    ),
  )
}

// `/config` answers { apiKey, appId, token, userId, api, faye } for the user in the page's URL.
const root = document.getElementById('root')
const user = new URLSearchParams(location.search).get('user') ?? ''
if (user === '') ReactDOM.render(h(Welcome, {}), root)
else
  fetch(`/config?user=${encodeURIComponent(user)}`).then(async (res) => {
    const config = await res.json()
    if (!res.ok) {
      ReactDOM.render(h(Welcome, { error: config.error }), root)
      return
    }
    me = config.userId
    ReactDOM.render(h(App, config), root)
  })
