/** The activities part: activity bodies by sort key, each stored once whatever feeds hold it. */
import type { StoredActivity } from './write-batch.js'

/** The activities part: bodies are written by `StorageAdapter.write`; this part reads them. */
export interface ActivityStore {
  /** Bodies for the given sort keys; missing ones are absent from the map. */
  getActivities(sks: string[]): Promise<Map<string, StoredActivity>>

  /** Sort keys of the activities in `feed` whose foreign_id is `foreignId`, newest first. */
  findByForeignId(feed: string, foreignId: string): Promise<string[]>
}
