/**
 * Feeds V3 feed members: the users a feed's owner added (or invited) to it, as one bounded
 * document per feed (`v3_members`, keyed by the fid). A member added with `invite` is `pending`
 * until the user accepts (then `member`) or rejects (`rejected`); members are what the
 * `members` visibility level and member capabilities read (v3-access.ts). Changes are
 * versioned read-modify-writes.
 */
import type { DocumentStore } from '../store/store.js'
import { inputError, notFound } from './errors.js'
import { rewriteDoc } from './v3-docs.js'
import type { Member, MemberChanges, MemberInput } from './v3-member-model.js'

export type { Member, MemberChanges, MemberInput } from './v3-member-model.js'

const KIND = 'v3_members'
/** Most members (and invites) one feed holds. */
export const MAX_MEMBERS = 1_000

/** The V3 feed member use cases. */
export class V3Members {
  readonly #documents: DocumentStore

  constructor(documents: DocumentStore) {
    this.#documents = documents
  }

  /** The members of feeds (by fid; feeds with none are left out). */
  async members(fids: string[]): Promise<Map<string, Member[]>> {
    if (fids.length === 0) return new Map()
    const docs = await this.#documents.getDocs(KIND, [...new Set(fids)])
    return new Map(docs.map((d) => [d.id, (d.data.members as Member[] | undefined) ?? []]))
  }

  /** Adds or updates (`upsert`), removes (`remove`) or replaces (`set`) members of `fid`. */
  async update(fid: string, operation: unknown, inputs: MemberInput[]): Promise<MemberChanges> {
    if (operation !== 'upsert' && operation !== 'remove' && operation !== 'set')
      throw inputError('operation must be upsert, remove or set', operation, 'operation')
    let changes: MemberChanges = { added: [], updated: [], removed_ids: [] }
    await rewriteDoc<{ members: Member[] }>(this.#documents, KIND, fid, (doc) => {
      changes = { added: [], updated: [], removed_ids: [] }
      const now = new Date().toISOString()
      const byId = new Map((doc?.members ?? []).map((m) => [m.user_id, m]))
      const named = new Set(inputs.map((m) => m.user_id))
      if (operation === 'remove') {
        for (const id of named) if (byId.delete(id)) changes.removed_ids.push(id)
      } else {
        if (operation === 'set')
          for (const id of [...byId.keys()])
            if (!named.has(id)) {
              byId.delete(id)
              changes.removed_ids.push(id)
            }
        for (const input of inputs) {
          const before = byId.get(input.user_id)
          const member: Member = {
            user_id: input.user_id,
            role: input.role ?? before?.role ?? 'feed_member',
            status: before?.status ?? (input.invite ? 'pending' : 'member'),
            created_at: before?.created_at ?? now,
            updated_at: now,
            ...((input.custom ?? before?.custom) ? { custom: input.custom ?? before?.custom } : {}),
          }
          // A new invite of someone who rejected asks again.
          if (input.invite && before?.status === 'rejected') member.status = 'pending'
          byId.set(input.user_id, member)
          ;(before ? changes.updated : changes.added).push(member)
        }
      }
      if (byId.size > MAX_MEMBERS)
        throw inputError(`a feed has at most ${MAX_MEMBERS} members`, inputs.length, 'members')
      return { members: [...byId.values()] }
    })
    return changes
  }

  /** The invited user `userId` accepts or rejects its invite to `fid`; resolves with the member. */
  async answer(fid: string, userId: string, accept: boolean): Promise<Member> {
    let answered: Member | undefined
    await rewriteDoc<{ members: Member[] }>(this.#documents, KIND, fid, (doc) => {
      const before = doc?.members.find((m) => m.user_id === userId)
      answered = before?.status === 'member' && accept ? before : undefined
      if (!doc || !before || before.status === 'member') return undefined
      const now = new Date().toISOString()
      answered = accept
        ? { ...before, status: 'member', invite_accepted_at: now, updated_at: now }
        : { ...before, status: 'rejected', invite_rejected_at: now, updated_at: now }
      const member = answered
      return { members: doc.members.map((m) => (m.user_id === userId ? member : m)) }
    })
    if (!answered) throw notFound(`${userId} has no invite to ${fid}`)
    return answered
  }
}
