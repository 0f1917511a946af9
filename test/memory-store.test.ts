/** The store contract on the in-memory store. */
import { MemoryStore } from '../src/store/memory/memory-store.js'
import { runStoreContract } from '../src/testing/store-contract.js'

runStoreContract({ name: 'memory', create: () => new MemoryStore() })
