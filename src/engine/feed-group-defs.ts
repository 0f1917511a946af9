/**
 * Feed groups defined while the engine runs (Feeds V3's GetOrCreateFeedGroup), beside the ones
 * configured at startup. A defined group follows exactly the configured groups' rules
 * (`buildFeedGroup`); its options are kept in one document (kind `feed_groups`, id `defined`), so
 * every engine on the store learns them (`loadFeedGroups`, at startup or when a caller names a
 * group this engine does not know yet). A configured group always wins over a defined one of the
 * same name, and a definition never changes once made.
 */
import type { DocumentStore } from '../store/store.js'
import { inputError } from './errors.js'
import { buildFeedGroup, type FeedGroup, type FeedGroupOptions } from './feed-groups.js'

/** Document kind and id holding every defined group's options. */
const KIND = 'feed_groups'
const ID = 'defined'
/** Most groups that may be defined (each is computed on every add: see `shapesFor`). */
export const MAX_DEFINED_GROUPS = 50

/** A group definition's answer: the group, and whether this call made it. */
export interface DefinedGroup {
  group: FeedGroup
  created: boolean
}

/** Defined feed groups over the engine's group map and its documents. */
export class FeedGroupDefs {
  readonly #groups: Map<string, FeedGroup>
  readonly #documents: DocumentStore

  constructor(groups: Map<string, FeedGroup>, documents: DocumentStore) {
    this.#groups = groups
    this.#documents = documents
  }

  /** Registers every defined group this engine does not know yet; resolves with the slugs it added. */
  async load(): Promise<string[]> {
    const [doc] = await this.#documents.getDocs(KIND, [ID])
    return this.#register(optionsOf(doc?.data))
  }

  /**
   * Returns the group `slug` when it exists (configured or defined, `created` false), else
   * validates and stores `options` as its definition. Concurrent definitions of one name: the
   * first stored wins, and the others get it.
   */
  async define(slug: string, options: FeedGroupOptions): Promise<DefinedGroup> {
    const known = this.#groups.get(slug)
    if (known) return { group: known, created: false }
    buildFeedGroup(slug, options) // validates before anything is stored
    for (let attempt = 0; attempt < 5; attempt++) {
      const [doc] = await this.#documents.getDocs(KIND, [ID])
      const defined = optionsOf(doc?.data)
      if (Object.hasOwn(defined, slug)) {
        this.#register(defined)
        return { group: this.#groups.get(slug) as FeedGroup, created: false }
      }
      if (Object.keys(defined).length >= MAX_DEFINED_GROUPS)
        throw inputError(`at most ${MAX_DEFINED_GROUPS} feed groups may be defined`, slug, 'id')
      const next = { groups: { ...defined, [slug]: options } }
      const written = doc
        ? await this.#documents.putDoc(KIND, ID, next, 'update', doc.updatedAt)
        : await this.#documents.putDoc(KIND, ID, next, 'insert')
      if (written) {
        this.#register(next.groups)
        return { group: this.#groups.get(slug) as FeedGroup, created: true }
      }
    }
    throw inputError('feed groups changed meanwhile; retry', slug, 'id')
  }

  #register(defined: Record<string, FeedGroupOptions>): string[] {
    const added: string[] = []
    for (const [slug, options] of Object.entries(defined)) {
      if (this.#groups.has(slug)) continue
      try {
        this.#groups.set(slug, buildFeedGroup(slug, options))
        added.push(slug)
      } catch {
        // A definition stored by a newer version this one cannot read stays unknown here.
      }
    }
    return added
  }
}

function optionsOf(data: Record<string, unknown> | undefined): Record<string, FeedGroupOptions> {
  const groups = data?.groups
  if (!groups || typeof groups !== 'object' || Array.isArray(groups)) return {}
  return groups as Record<string, FeedGroupOptions>
}
