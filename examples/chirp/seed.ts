/**
 * Demo data for a fresh install: a dozen users, who follows whom, and chirps, replies, rechirps
 * and likes spread over the last six days. It goes through the same actions as the routes, so
 * every row publishes its activity through the TypeORM tracking, backdated to its `createdAt`.
 */
import { createUser, follow, like, postChirp, rechirp } from './actions.js'
import type { ChirpContext } from './context.js'
import type { Chirp, User } from './entities.js'

const USERS: [string, string, string][] = [
  ['mara', 'Mara Okafor', 'Marine biologist. Professional octopus counter.'],
  ['leo', 'Leo Brandt', 'Backend engineer. SQLite is a perfectly good database.'],
  ['priya', 'Priya Raman', 'Astrophysicist and night owl. Mostly looking up.'],
  ['sam', 'Sam Whitfield', 'Coffee roaster, weekend baker, sourdough evangelist.'],
  ['yuki', 'Yuki Tanaka', 'Product designer. Kerning is a love language.'],
  ['diego', 'Diego Alvarez', 'Urban planner on two wheels.'],
  ['nora', 'Nora Lindqvist', 'Botanist. My houseplants have names and opinions.'],
  ['omar', 'Omar Haddad', 'Data journalist. Show me the spreadsheet.'],
  ['chloe', 'Chloé Martin', 'Frontend developer and accessibility advocate.'],
  ['kwame', 'Kwame Mensah', 'Robotics PhD student. My robot fell over again.'],
  ['iris', 'Iris Novak', 'Physics teacher. Ask me about pendulums.'],
  ['ben', 'Ben Carter', 'Product manager. Runs on oat lattes and sticky notes.'],
]

/** [author, text, hours ago]. */
const CHIRPS: [string, string, number][] = [
  [
    'leo',
    'Shipped the new activity feed today. Fan-out on write, all in one SQLite file. No queue, no cluster, no drama.',
    140,
  ],
  [
    'mara',
    'Day 3 of the reef survey: 14 octopuses, one of which definitely recognised me and was not impressed.',
    134,
  ],
  ['priya', 'Clear skies tonight! Jupiter and Saturn are both up after 10pm if you have binoculars.', 128],
  [
    'sam',
    'New batch: a washed Ethiopian that tastes like blueberries and jasmine. Roasting more on Friday.',
    121,
  ],
  ['yuki', 'Hot take: most apps need fewer settings, not more. Pick good defaults and be brave.', 115],
  ['diego', 'The new protected bike lane on 5th is open. Rode it twice already just because I could.', 109],
  ['nora', 'My monstera unfurled a new leaf overnight and I am choosing to take it personally.', 102],
  ['omar', 'Cleaned 40,000 rows of city budget data so you do not have to. Story drops Thursday.', 97],
  ['chloe', 'Reminder: a button that is a <div> is not a button. Your keyboard users thank you.', 92],
  ['kwame', 'Robot took 7 steps before falling over. That is a personal best of 7 steps.', 88],
  [
    'iris',
    'Today my class timed 30 swings of a pendulum and rediscovered g = 9.8. Goosebumps every year.',
    83,
  ],
  ['ben', 'Roadmap tip: write the announcement first. If it is boring, the feature probably is too.', 78],
  [
    'leo',
    'Aggregated feeds are magic: "Ann and 3 others liked your post" is just a group key of verb + object + day.',
    72,
  ],
  ['priya', 'Spent the night re-reducing spectra. The universe is still expanding; my patience is not.', 66],
  ['mara', 'Octopus update: she has learned to open the sample jar. Adjusting the protocol accordingly.', 60],
  ['sam', 'Sourdough starter is 9 years old today. Her name is Doughlores. Cake was not involved.', 55],
  ['yuki', 'Redesigned our empty states. Turns out "Nothing here yet" can be friendly AND useful.', 49],
  ['diego', 'Counted 412 cyclists on the bridge this morning. Last year, same day: 230.', 44],
  ['nora', 'PSA: overwatering kills more houseplants than neglect. Let the soil dry out, friends.', 38],
  ['chloe', 'Ran a screen reader over our signup flow. Found 6 bugs in 4 minutes. Do this today.', 33],
  ['kwame', 'Robot took 19 steps today. Then it walked into a wall, but confidently.', 28],
  ['omar', 'The budget story is live. The chart everybody asked about is the second one.', 24],
  [
    'iris',
    'Student asked why the sky is blue. We spent the whole lesson on Rayleigh scattering. Best day.',
    20,
  ],
  ['ben', 'Our team retro used one sticky note per person. Fastest and most honest retro we have had.', 16],
  ['leo', 'Cursor paging > offset paging. Your database, and your users on page 40, agree.', 12],
  ['priya', 'Meteor shower peaks tonight around 2am. I will be the one on the roof with a thermos.', 9],
  ['mara', 'Back on land. I miss the octopus already.', 6],
  ['sam', 'Friday roast is done. Come by the shop; first cup is on me if you say "chirp".', 4],
  ['yuki', 'A good notification tells you what happened, who did it, and lets you get back to work.', 2.5],
  ['kwame', '50 steps!!! The robot walks! Nobody touch anything.', 1.2],
]

/** [author, index of the chirp replied to, text, hours after it]. */
const REPLIES: [string, number, string, number][] = [
  ['ben', 0, 'How many users before SQLite becomes the problem?', 1],
  ['leo', 0, '@ben further than you think. Measure first.', 2],
  ['iris', 2, 'Taking my class out to see them next week!', 3],
  ['mara', 9, 'Seven more steps than my octopus. Impressive.', 1],
  ['chloe', 16, 'Love this. Empty states are onboarding in disguise.', 2],
  ['nora', 15, 'Doughlores deserves a cake.', 1],
  ['diego', 17, '@omar want the raw counts for a story?', 4],
  ['omar', 17, '@diego yes please!', 5],
  ['priya', 22, 'Rayleigh scattering is my favourite way to ruin a sunset for people.', 2],
  ['sam', 29, 'Coffee for the robot team is on me.', 0.5],
  ['iris', 29, 'Show my students the video please!', 0.8],
]

/** [who rechirps, index of the chirp, hours after it]. */
const RECHIRPS: [string, number, number][] = [
  ['chloe', 8, 3],
  ['yuki', 8, 5],
  ['leo', 12, 2],
  ['diego', 21, 1],
  ['ben', 24, 2],
  ['priya', 29, 0.6],
]

/** A small deterministic pseudo-random generator (mulberry32), so every install looks the same. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function seed(ctx: ChirpContext, now = Date.now()): Promise<void> {
  const rnd = random(42)
  const at = (hoursAgo: number) => ({
    at: new Date(Math.min(now - 60_000, now - hoursAgo * 3_600_000)),
    noFlush: true,
  })
  const users = new Map<string, User>()
  for (const [username, name, bio] of USERS) {
    users.set(username, await createUser(ctx, { username, name, bio }, at(170)))
  }
  const demo = (username: string): User => {
    const user = users.get(username)
    if (!user) throw new Error(`seed: ${username} is not one of the demo USERS`)
    return user
  }
  const all = [...users.values()]

  // Everybody follows 5 to 8 others, a week ago.
  for (const user of all) {
    const others = all.filter((u) => u !== user).sort(() => rnd() - 0.5)
    for (const target of others.slice(0, 5 + Math.floor(rnd() * 4))) {
      await follow(ctx, user, target.username, at(168 - rnd() * 20))
    }
  }

  const chirps: Chirp[] = []
  for (const [author, text, hoursAgo] of CHIRPS) {
    chirps.push(await postChirp(ctx, demo(author), { text }, at(hoursAgo)))
  }
  for (const [author, index, text, after] of REPLIES) {
    await postChirp(ctx, demo(author), { text, replyTo: chirps[index].id }, at(CHIRPS[index][2] - after))
  }
  for (const [who, index, after] of RECHIRPS) {
    await rechirp(ctx, demo(who), chirps[index].id, at(CHIRPS[index][2] - after))
  }

  // Likes: a few per chirp, within hours of it, so they group into "... and 3 others liked".
  for (const [i, chirp] of chirps.entries()) {
    const hoursAgo = CHIRPS[i][2]
    const likers = all.filter((u) => u.id !== chirp.userId).sort(() => rnd() - 0.5)
    const count = 2 + Math.floor(rnd() * 6)
    for (const liker of likers.slice(0, count)) {
      await like(ctx, liker, chirp.id, at(hoursAgo - (0.05 + rnd() * Math.min(2.5, hoursAgo * 0.8))))
    }
  }
  await ctx.client.flush()
}
