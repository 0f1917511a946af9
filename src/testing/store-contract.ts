/**
 * The contract every `Store` must pass: the rules of `store/store.ts` as node:test cases. A
 * backend's test file calls {@link runStoreContract} with a factory; each case gets a fresh
 * store and closes it afterwards.
 */
import { describe, it } from 'node:test'
import type { Store } from '../store/store.js'
import { deadJobTests } from './contract/dead-jobs.js'
import { docTests } from './contract/docs.js'
import { expectTests } from './contract/expect.js'
import { fanoutTests } from './contract/fanout.js'
import { flatTests } from './contract/flat.js'
import { followTests } from './contract/follows.js'
import { groupStateTests } from './contract/group-state.js'
import { groupTests, seenTests } from './contract/groups.js'
import { reactionTests } from './contract/reactions.js'
import { windowTests } from './contract/window.js'

/** How to run the contract against one backend. */
export interface StoreContractOptions {
  /** Shown in the suite title, e.g. `sqlite :memory:`. */
  name: string
  /** A fresh, empty store; called once per test. */
  create: () => Promise<Store> | Store
  /** Tests (by title) this backend skips, with why. */
  skip?: { reason: string; tests: string[] }[]
}

/** The n-th test sort key, for backend-specific tests. */
export { sk } from './contract/fixtures.js'

/** Registers the contract's tests with node:test. */
export function runStoreContract(options: StoreContractOptions): void {
  const skipped = new Map<string, string>()
  for (const { reason, tests } of options.skip ?? []) for (const title of tests) skipped.set(title, reason)
  const test = (title: string, body: (store: Store) => Promise<void>) =>
    it(title, { skip: skipped.get(title) ?? false }, async () => {
      const store = await options.create()
      try {
        await body(store)
      } finally {
        await store.close()
      }
    })

  describe(`store contract: ${options.name}`, () => {
    describe('flat timelines', () => flatTests(test))
    describe('optimistic writes', () => expectTests(test))
    for (const kind of ['aggregated', 'notification'] as const) {
      describe(`${kind} groups`, () => groupTests(test, kind))
    }
    describe('seen and read', () => seenTests(test))
    for (const kind of ['aggregated', 'notification'] as const) {
      describe(`${kind} group state (G1–G6)`, () => groupStateTests(test, kind))
    }
    describe('follows', () => followTests(test))
    describe('fan-out', () => fanoutTests(test))
    describe('dead fan-out jobs', () => deadJobTests(test))
    describe('documents', () => docTests(test))
    describe('reactions and audit log', () => reactionTests(test))
    describe('page windows', () => windowTests(test))
  })
}
