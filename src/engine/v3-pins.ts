/**
 * Feeds V3 pins: the activities a feed's owner pinned to its top, as one bounded document per
 * feed (`v3_pins`, keyed by the fid), newest pin first. Pinning twice keeps the first pin;
 * unpinning what is not pinned is a 404. Changes are versioned read-modify-writes.
 */
import type { DocumentStore } from '../store/store.js'
import { inputError, notFound } from './errors.js'
import { rewriteDoc } from './v3-docs.js'

const KIND = 'v3_pins'
/** Most activities one feed may have pinned. */
export const MAX_PINS = 50

/** One pinned activity of a feed. */
export interface Pin {
  /** The activity's V3 id. */
  activity_id: string
  /** Who pinned it. */
  user_id: string
  created_at: string
}

/** The V3 pin use cases. */
export class V3Pins {
  readonly #documents: DocumentStore

  constructor(documents: DocumentStore) {
    this.#documents = documents
  }

  /** The pins of feeds (by fid; feeds with none are left out). */
  async pins(fids: string[]): Promise<Map<string, Pin[]>> {
    if (fids.length === 0) return new Map()
    const docs = await this.#documents.getDocs(KIND, [...new Set(fids)])
    return new Map(docs.map((d) => [d.id, (d.data.pins as Pin[] | undefined) ?? []]))
  }

  /** Pins `activityId` to `fid` as `userId`; resolves with the pin (the earlier one if pinned already). */
  async pin(fid: string, activityId: string, userId: string): Promise<Pin> {
    const pin: Pin = { activity_id: activityId, user_id: userId, created_at: new Date().toISOString() }
    let found: Pin | undefined
    await rewriteDoc<{ pins: Pin[] }>(this.#documents, KIND, fid, (doc) => {
      const pins = doc?.pins ?? []
      found = pins.find((p) => p.activity_id === activityId)
      if (found) return undefined
      if (pins.length >= MAX_PINS)
        throw inputError(
          `${fid} has ${MAX_PINS} pinned activities; unpin one first`,
          activityId,
          'activity_id',
        )
      return { pins: [pin, ...pins] }
    })
    return found ?? pin
  }

  /** Unpins `activityId` from `fid`; resolves with the removed pin, or throws 404. */
  async unpin(fid: string, activityId: string): Promise<Pin> {
    let removed: Pin | undefined
    await rewriteDoc<{ pins: Pin[] }>(this.#documents, KIND, fid, (doc) => {
      removed = doc?.pins.find((p) => p.activity_id === activityId)
      return removed && doc ? { pins: doc.pins.filter((p) => p !== removed) } : undefined
    })
    if (!removed) throw notFound(`activity ${activityId} is not pinned to ${fid}`)
    return removed
  }
}
