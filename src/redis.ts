/**
 * The `eddy/redis` entry: Eddy on PostgreSQL with timelines in Redis or a Redis Cluster
 * (`openRedisStore`, the BullMQ fan-out queue) and realtime across instances over Redis pub/sub
 * (`RedisFeedTransport`); see docs/scale-out.md. It sits above the layers (as `eddy` does) so the
 * store keeps importing nothing from the engine while the transport speaks the engine's messages.
 * `ioredis` (and `pg`) are optional peer dependencies, loaded by the first open.
 * @module
 */

export {
  RedisFeedTransport,
  type RedisTransportOptions,
  type RedisTransportStats,
} from './realtime/redis-transport.js'
export * from './store/redis/index.js'
