/**
 * Feed groups defined while the engine runs (Feeds V3's CreateFeedGroup and GetOrCreateFeedGroup),
 * beside the ones configured at startup. A defined group follows exactly the configured groups'
 * rules (`buildFeedGroup`); its options are kept in one document (kind `feed_groups`, id
 * `defined`), so every engine on the store learns them (`load`, at startup or when a caller names
 * a group this engine does not know yet). A configured group always wins over a defined one of
 * the same name, and a definition never changes once made: its feeds' stored entries follow its
 * kind and format.
 *
 * Deleting a defined group is a soft delete, as Stream's default: the same document marks it
 * deleted, every engine that loads it forgets the group (V1 and V3 alike: its feeds are refused,
 * fan-out skips them), and its feeds, activities and follows stay in the store untouched, so
 * `restore` brings the group back with everything it held. A deleted name cannot be defined anew
 * (only restored), and configured groups are not deleted here (the server's configuration owns
 * them).
 */
import type { DocumentStore } from '../store/store.js'
import { conflict, inputError, notFound } from './errors.js'
import { buildFeedGroup, type FeedGroup, type FeedGroupOptions } from './feed-groups.js'

/** Document kind and id holding every defined group's options. */
const KIND = 'feed_groups'
const ID = 'defined'
/** Most groups that may be defined, deleted ones included (each is computed on every add: see `shapesFor`). */
export const MAX_DEFINED_GROUPS = 50

/** A group definition's answer: the group, and whether this call made it. */
export interface DefinedGroup {
  group: FeedGroup
  created: boolean
}

/** A soft-deleted group: its definition and when it was deleted. */
export interface DeletedGroup {
  group: FeedGroup
  deletedAt: string
}

/** What the document holds: options by slug, and the deletion times of deleted ones. */
interface Definitions {
  groups: Record<string, FeedGroupOptions>
  deleted: Record<string, string>
}

/** Defined feed groups over the engine's group map and its documents. */
export class FeedGroupDefs {
  readonly #groups: Map<string, FeedGroup>
  readonly #documents: DocumentStore
  /** The groups this engine registered from definitions (never a configured one). */
  readonly #registered = new Set<string>()
  /** The deleted groups as last read, by slug. */
  #deleted = new Map<string, DeletedGroup>()

  constructor(groups: Map<string, FeedGroup>, documents: DocumentStore) {
    this.#groups = groups
    this.#documents = documents
  }

  /**
   * Brings the group map up to the stored definitions: registers the groups this engine does
   * not know yet, forgets the ones deleted since; resolves with the slugs it added.
   */
  async load(): Promise<string[]> {
    const [doc] = await this.#documents.getDocs(KIND, [ID])
    return this.#sync(definitionsOf(doc?.data))
  }

  /** Whether `slug` is a group of the server's configuration (not defined at run time). */
  isConfigured(slug: string): boolean {
    return this.#groups.has(slug) && !this.#registered.has(slug)
  }

  /** The deleted group `slug` as last loaded, if it is one. */
  deleted(slug: string): DeletedGroup | undefined {
    return this.#deleted.get(slug)
  }

  /** Every deleted group as last loaded. */
  allDeleted(): DeletedGroup[] {
    return [...this.#deleted.values()]
  }

  /**
   * Returns the group `slug` when it exists (configured or defined, `created` false), else
   * validates and stores `options` as its definition. Concurrent definitions of one name: the
   * first stored wins, and the others get it. `exclusive` refuses an existing group instead (a 409).
   */
  async define(slug: string, options: FeedGroupOptions, exclusive = false): Promise<DefinedGroup> {
    const known = this.#groups.get(slug)
    if (known && exclusive) throw conflict(`feed group ${slug} exists already`)
    if (known) return { group: known, created: false }
    buildFeedGroup(slug, options) // validates before anything is stored
    let created = false
    await this.#change((defs) => {
      created = false
      if (Object.hasOwn(defs.deleted, slug))
        throw inputError(
          `feed group ${slug} was deleted; restore it (RestoreFeedGroup) instead of defining it again`,
          slug,
          'id',
        )
      if (Object.hasOwn(defs.groups, slug)) {
        if (exclusive) throw conflict(`feed group ${slug} exists already`)
        return undefined
      }
      if (Object.keys(defs.groups).length >= MAX_DEFINED_GROUPS)
        throw inputError(`at most ${MAX_DEFINED_GROUPS} feed groups may be defined`, slug, 'id')
      created = true
      return { ...defs, groups: { ...defs.groups, [slug]: options } }
    }, slug)
    return { group: this.#groups.get(slug) as FeedGroup, created }
  }

  /** Soft-deletes defined group `slug` (404 when there is none, 400 for a configured group). */
  async delete(slug: string): Promise<void> {
    if (this.isConfigured(slug))
      throw inputError(
        `feed group ${slug} is part of the server's configuration; change the configuration to remove it`,
        slug,
        'id',
      )
    await this.#change((defs) => {
      if (!Object.hasOwn(defs.groups, slug) || Object.hasOwn(defs.deleted, slug))
        throw notFound(`feed group ${slug} does not exist`)
      return { ...defs, deleted: { ...defs.deleted, [slug]: new Date().toISOString() } }
    }, slug)
  }

  /** Restores soft-deleted group `slug` as it was (a live group is returned as it is). */
  async restore(slug: string): Promise<FeedGroup> {
    await this.#change((defs) => {
      if (!Object.hasOwn(defs.groups, slug)) {
        if (this.#groups.has(slug)) return undefined // configured: never deleted
        throw notFound(`feed group ${slug} does not exist`)
      }
      if (!Object.hasOwn(defs.deleted, slug)) return undefined
      const { [slug]: _, ...deleted } = defs.deleted
      return { ...defs, deleted }
    }, slug)
    return this.#groups.get(slug) as FeedGroup
  }

  /**
   * Applies `change` to the stored definitions as a versioned read-modify-write (retried when
   * another engine wrote meanwhile), then syncs this engine's map with what is stored. `change`
   * answers undefined when nothing is to be written.
   */
  async #change(change: (defs: Definitions) => Definitions | undefined, slug: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [doc] = await this.#documents.getDocs(KIND, [ID])
      const defs = definitionsOf(doc?.data)
      const next = change(defs)
      if (!next) {
        this.#sync(defs)
        return
      }
      const data = next as unknown as Record<string, unknown>
      const written = doc
        ? await this.#documents.putDoc(KIND, ID, data, 'update', doc.updatedAt)
        : await this.#documents.putDoc(KIND, ID, data, 'insert')
      if (written) {
        this.#sync(next)
        return
      }
    }
    throw conflict(`feed groups changed meanwhile; retry (${slug})`)
  }

  #sync(defs: Definitions): string[] {
    const added: string[] = []
    const deleted = new Map<string, DeletedGroup>()
    for (const [slug, options] of Object.entries(defs.groups)) {
      const deletedAt = defs.deleted[slug]
      if (deletedAt !== undefined) {
        if (this.#registered.delete(slug)) this.#groups.delete(slug)
        const group = built(slug, options)
        if (group && !this.#groups.has(slug)) deleted.set(slug, { group, deletedAt })
        continue
      }
      if (this.#groups.has(slug)) continue
      const group = built(slug, options)
      if (!group) continue
      this.#groups.set(slug, group)
      this.#registered.add(slug)
      added.push(slug)
    }
    this.#deleted = deleted
    return added
  }
}

/** A definition as a group, or undefined for one stored by a newer version this one cannot read. */
function built(slug: string, options: FeedGroupOptions): FeedGroup | undefined {
  try {
    return buildFeedGroup(slug, options)
  } catch {
    return undefined
  }
}

function definitionsOf(data: Record<string, unknown> | undefined): Definitions {
  const record = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {})
  return {
    groups: record(data?.groups) as Record<string, FeedGroupOptions>,
    deleted: record(data?.deleted) as Record<string, string>,
  }
}
