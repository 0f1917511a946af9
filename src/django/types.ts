/**
 * The structural client seam: anything with `feed(slug, id)` returning a feed that can add,
 * remove, follow, unfollow and read. The embedded `EddyClient`, the official `getstream` client
 * (pointed at Stream's cloud or at the Eddy server) all fit.
 */

/** A feed handle as the integration uses it. */
export interface FeedLike {
  /** `slug:userId` (present on Eddy's and getstream's feeds). */
  readonly id?: string
  readonly slug?: string
  readonly userId?: string
  addActivity(activity: any): Promise<any>
  removeActivity(activity: string | { foreign_id?: string; foreignId?: string }): Promise<any>
  follow(targetSlug: string, targetUserId: string, options?: any): Promise<any>
  unfollow(targetSlug: string, targetUserId: string, options?: any): Promise<any>
  get(options?: any): Promise<any>
}

/** A getstream-shaped client: `client.feed('user', '42')`. */
export interface FeedClient {
  feed(slug: string, userId: string): FeedLike
}

/** True when `value` looks like a {@link FeedClient}. */
export function isFeedClient(value: unknown): value is FeedClient {
  return typeof value === 'object' && value !== null && typeof (value as FeedClient).feed === 'function'
}
