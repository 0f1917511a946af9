/**
 * Testing helpers for store authors: run Eddy's store contract against your own backend.
 * @module
 */
export { runStoreContract } from './store-contract.js'
