/**
 * The page (bundled for the browser by build.ts): GetStream's React components (react-activity-feed
 * 1.4.0, React 17, getstream 7) against `eddy serve`, with realtime. Plain createElement calls keep
 * the repository free of a JSX setup. The signed-in user's settings come from `/config` (a real app
 * issues the user token after its own login).
 */
import React from 'react'
import {
  Activity,
  CommentField,
  CommentList,
  FlatFeed,
  LikeButton,
  NotificationDropdown,
  StatusUpdateForm,
  StreamApp,
} from 'react-activity-feed'
import ReactDOM from 'react-dom'

const h = React.createElement
const READ = { withRecentReactions: true, withReactionCounts: true, withOwnReactions: true, limit: 10 }

/** The notification feed of an activity's author: likes and comments are delivered there. */
function authorNotifications(activity) {
  const actor = activity.actor
  const id = typeof actor === 'string' ? actor.replace(/^SU:/, '') : actor.id
  return id ? [`notification:${id}`] : []
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
      h(NotificationDropdown, { notify: true }),
    ),
    h(StatusUpdateForm, { feedGroup: 'user' }),
    h(FlatFeed, {
      feedGroup: 'timeline',
      notify: true,
      options: READ,
      Activity: Post,
    }),
  )
}

// `/config` answers { apiKey, appId, token, userId, api, faye } for the user in the page's URL.
const user = new URLSearchParams(location.search).get('user') ?? ''
fetch(`/config?user=${encodeURIComponent(user)}`)
  .then((res) => res.json())
  .then((config) => {
    ReactDOM.render(h(App, config), document.getElementById('root'))
  })
