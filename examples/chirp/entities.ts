/**
 * Chirp's TypeORM entities. `Chirp`, `Like` and `Follow` are activity models (`@Activity()` from
 * `eddy/typeorm`): inserting a row publishes its activity to the author's `user` feed, removing it
 * takes the activity back. Column types are explicit because tsx/esbuild emits no decorator
 * metadata.
 */
import 'reflect-metadata'
import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm'
import { feedManager } from '../../src/django/index.js'
import { Activity } from '../../src/django/typeorm/index.js'

/** Longest chirp, in characters. */
export const MAX_CHIRP_LENGTH = 280

@Entity('users')
export class User {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'varchar', length: 20, unique: true })
  username!: string

  @Column({ type: 'varchar', length: 50 })
  name!: string

  @Column({ type: 'varchar', length: 160, default: '' })
  bio!: string

  /** Avatar colour, e.g. `#6366f1` (avatars are initials on a coloured disc). */
  @Column({ type: 'varchar', length: 7 })
  color!: string

  @Column({ type: 'datetime' })
  createdAt!: Date
}

/** A chirp, a reply (`replyTo` set) or a rechirp (`rechirpOf` set). Its verb says which. */
@Activity<Chirp>({
  actorId: (c) => c.userId,
  actor: (c) => `User:${c.userId}`,
  verb: (c) => (c.replyToId ? 'reply' : c.rechirpOfId ? 'rechirp' : 'chirp'),
  extraData: (c) => {
    const parent = c.replyToId ?? c.rechirpOfId
    // `target` is the chirp replied to or rechirped. Two fields drive the aggregation formats
    // (feeds.ts): `group_by` groups notifications (chirps by author, replies and rechirps by the
    // original chirp); `card` groups the home timeline into one card per chirp: the chirp, its
    // rechirps and likes. A reply is a chirp of its own, so it gets its own card.
    const card = `Chirp:${c.rechirpOfId ?? c.id}`
    return parent
      ? { target: `Chirp:${parent}`, group_by: `Chirp:${parent}`, card }
      : { group_by: `User:${c.userId}`, card }
  },
  // The author of the original chirp hears about replies and rechirps (not about their own), and
  // every user @mentioned in the text hears about the mention.
  notify: (c) => {
    const author = c.replyTo?.userId ?? c.rechirpOf?.userId
    const told = new Set([...(author ? [author] : []), ...(c.mentionIds ?? [])])
    told.delete(c.userId)
    return [...told].map((id) => feedManager.getNotificationFeed(id))
  },
  // Loaded with every chirp at enrichment, in the same query.
  relatedModels: ['user', 'replyTo', 'replyTo.user', 'rechirpOf', 'rechirpOf.user'],
})
@Entity('chirps')
@Index(['userId', 'createdAt'])
export class Chirp {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'integer' })
  userId!: number

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'userId' })
  user!: Relation<User>

  @Column({ type: 'varchar', length: MAX_CHIRP_LENGTH, default: '' })
  text!: string

  @Column({ type: 'integer', nullable: true })
  replyToId!: number | null

  @ManyToOne(() => Chirp, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'replyToId' })
  replyTo?: Relation<Chirp> | null

  @Column({ type: 'integer', nullable: true })
  rechirpOfId!: number | null

  @ManyToOne(() => Chirp, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'rechirpOfId' })
  rechirpOf?: Relation<Chirp> | null

  /** Users @mentioned in `text` (resolved when the chirp is posted); they are notified. */
  @Column({ type: 'simple-json', nullable: true })
  mentionIds!: number[] | null

  /** The attached picture's URL (an Eddy upload, served by Chirp at /uploads/), or null. */
  @Column({ type: 'varchar', length: 600, nullable: true })
  imageUrl!: string | null

  /** The link preview of the first URL in `text` (Eddy's og), taken when the chirp is posted. */
  @Column({ type: 'simple-json', nullable: true })
  preview!: LinkPreview | null

  @Column({ type: 'integer', default: 0 })
  likeCount!: number

  @Column({ type: 'integer', default: 0 })
  replyCount!: number

  @Column({ type: 'integer', default: 0 })
  rechirpCount!: number

  @Column({ type: 'datetime' })
  createdAt!: Date
}

/** What a chirp keeps of a link preview. */
export interface LinkPreview {
  url: string
  title?: string
  description?: string
  image?: string
  siteName?: string
}

/** A like. Its activity notifies the chirp's author. */
@Activity<Like>({
  actorId: (l) => l.userId,
  actor: (l) => `User:${l.userId}`,
  object: (l) => `Chirp:${l.chirpId}`,
  // Not the default (the object): a user's own chirp and their like of it share that reference.
  foreignId: (l) => `Like:${l.id}`,
  extraData: (l) => ({ group_by: `Chirp:${l.chirpId}`, card: `Chirp:${l.chirpId}` }),
  notify: (l) =>
    l.chirp && l.chirp.userId !== l.userId ? [feedManager.getNotificationFeed(l.chirp.userId)] : [],
})
@Entity('likes')
@Unique(['userId', 'chirpId'])
export class Like {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'integer' })
  userId!: number

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'userId' })
  user?: Relation<User>

  @Column({ type: 'integer' })
  chirpId!: number

  @ManyToOne(() => Chirp, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'chirpId' })
  chirp?: Relation<Chirp>

  @Column({ type: 'datetime' })
  createdAt!: Date
}

/** `followerId` follows `followedId`. Its activity notifies the followed user. */
@Activity<Follow>({
  actorId: (f) => f.followerId,
  actor: (f) => `User:${f.followerId}`,
  object: (f) => `User:${f.followedId}`,
  foreignId: (f) => `Follow:${f.id}`,
  // Notifications group follows by the followed user ("Ada and 2 others followed you"); the home
  // timeline groups them by the follower and day ("Ada followed Leo, Mara and 2 others").
  extraData: (f) => ({
    group_by: `User:${f.followedId}`,
    card: `Follows:User:${f.followerId}:${f.createdAt.toISOString().slice(0, 10)}`,
  }),
  notify: (f) => [feedManager.getNotificationFeed(f.followedId)],
})
@Entity('follows')
@Unique(['followerId', 'followedId'])
export class Follow {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'integer' })
  followerId!: number

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'followerId' })
  follower?: Relation<User>

  @Column({ type: 'integer' })
  followedId!: number

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'followedId' })
  followed?: Relation<User>

  @Column({ type: 'datetime' })
  createdAt!: Date
}

export const ENTITIES = [User, Chirp, Like, Follow]
