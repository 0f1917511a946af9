/**
 * Testing helpers for store authors: run Eddy's store contract against your own backend.
 * @module
 */

/** The one error a store raises about itself (closed, unreachable, misconfigured), with a reason. */
export { StoreError } from '../store/errors.js'
export type * from '../store/store.js'
/**
 * `WriteConflict`: thrown by a store's `write` when an expected body changed (third-party stores
 * throw it too); `StorageAdapterBase`: the base a backend extends (capabilities with defaults,
 * `open()`), with `DEFAULT_CAPABILITIES`.
 */
export { DEFAULT_CAPABILITIES, StorageAdapterBase, WriteConflict } from '../store/store.js'
export { runStoreContract } from './store-contract.js'
