/**
 * Testing helpers for store authors: run Eddy's store contract against your own backend.
 * @module
 */

export type * from '../store/store.js'
/** Thrown by a store's `write` when an expected body changed; third-party stores throw it too. */
export { WriteConflict } from '../store/store.js'
export { runStoreContract } from './store-contract.js'
