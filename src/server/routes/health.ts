/** Health checks: `GET /health` (with the store's name) and Stream's `GET /api/v1.0/health/`; no token. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { ServerContext } from '../context.js'
import { Duration } from '../schemas/common.js'

/** Registers the health routes. */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const open = { tags: ['health'], security: [] }
  api.get(
    '/health',
    {
      schema: {
        ...open,
        summary: "Eddy's health: ok, and the store it runs on",
        response: { 200: Type.Object({ status: Type.Literal('ok'), store: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' as const, store: ctx.engine.storeName }),
  )
  api.get(
    '/api/v1.0/health/',
    {
      schema: {
        ...open,
        summary: "Stream's health check",
        response: { 200: Type.Object({ status: Type.Literal('ok'), duration: Duration }) },
      },
    },
    async () => ({ status: 'ok' as const, duration: '0.00ms' }),
  )
}
