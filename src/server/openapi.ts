/**
 * The OpenAPI document of the REST API, generated from the route schemas by `@fastify/swagger`,
 * served without a token at `/api/v1.0/openapi.json`, with a browsable page at `/api/v1.0/docs/`.
 * It describes routes and shapes only: no keys, hosts, store locations or configuration.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/** Where the document is served. */
export const OPENAPI_PATH = '/api/v1.0/openapi.json'
/** Where the docs page is served. */
export const DOCS_PATH = '/api/v1.0/docs'

const DESCRIPTION = [
  "Stream's Feeds v1 REST API as Eddy serves it (docs/server.md). Every call takes `api_key` in the",
  'query string and a JWT signed with the API secret in `Authorization`, with `Stream-Auth-Type: jwt`.',
  "Errors are Stream's body (`StreamError`). Realtime is Faye (Bayeux over HTTP and WebSocket at `/faye`),",
  'which is not REST and is not described here.',
].join(' ')

/**
 * Registers the generator and the docs page. Register the routes after it, in a plugin (the
 * generator collects routes as they are added, once it is loaded); `app.swagger()` is the document.
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Eddy: Stream Feeds v1 API', version: '1.0', description: DESCRIPTION },
      components: {
        securitySchemes: {
          api_key: { type: 'apiKey', in: 'query', name: 'api_key' },
          jwt: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'the JWT itself (no `Bearer`), with the header `Stream-Auth-Type: jwt`',
          },
        },
      },
      security: [{ api_key: [], jwt: [] }],
    },
  })
  app.register(swaggerUi, { routePrefix: DOCS_PATH, staticCSP: true })
}
