import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

type JsonSchema = Record<string, unknown>;

/**
 * A response declared `z.null()` has no body (a redirect, a 304): zod renders it as a
 * nullable string, so mark it `type: 'null'`, which @fastify/swagger documents without content.
 */
function withEmptyResponses(schema: JsonSchema): JsonSchema {
  const responses = schema.response as Record<string, JsonSchema> | undefined;
  if (!responses) return schema;
  const documented = Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      const isNull = Array.isArray(response.enum) && response.enum.length === 1 && response.enum[0] === null;
      return [status, isNull ? { type: 'null', description: response.description, headers: response.headers } : response];
    }),
  );
  return { ...schema, response: documented };
}

/**
 * Every public API route's OpenAPI: the zod schemas that validate it, rendered as JSON Schema.
 * The document is the client contract, so only `/v1` is in it: the HTML pages, the console,
 * health and metrics are for people and operators, and are documented in the README.
 */
const documentRoute: SwaggerTransform = (input) => {
  if (!input.url.startsWith('/v1/')) return { schema: { ...input.schema, hide: true }, url: input.url };
  const { schema, url } = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]);
  // a route declared without any schema has nothing to document
  if (!schema) return { schema, url };
  return { schema: withEmptyResponses(schema as JsonSchema), url };
};

/**
 * For a route whose handler streams a multipart body itself (so Fastify validates no body):
 * documents that body as `multipart/form-data` with `form` as its parts. Set as the route's
 * `config.swaggerTransform`.
 */
export function documentMultipart(form: JsonSchema): SwaggerTransform {
  return (input) => {
    const { schema, url } = documentRoute(input) as { schema: JsonSchema; url: string };
    return { schema: { ...schema, consumes: ['multipart/form-data'], body: form }, url };
  };
}

/**
 * For the events route: its 200 is JSON (the long poll) or, asked with
 * `Accept: text/event-stream`, a stream of Server-Sent Events. Set as `config.swaggerTransform`.
 */
export const documentEventStream: SwaggerTransform = (input) => {
  const { schema, url } = documentRoute(input) as { schema: JsonSchema; url: string };
  const responses = (schema.response ?? {}) as Record<string, JsonSchema>;
  const json = responses['200'];
  if (!json) return { schema, url };
  const stream = {
    type: 'string',
    description: 'With `Accept: text/event-stream`: one frame per event (`id: seq`, `event: type`, `data: {seq, type, data, createdAt}`), a `: keep-alive` comment every 15 s; ends after the terminal event or 60 s (reconnect with `Last-Event-ID`). 204 when the upload has finished and nothing is left after Last-Event-ID.',
  };
  const documented = { description: json.description ?? 'Events', content: { 'application/json': { schema: json }, 'text/event-stream': { schema: stream } } };
  return { schema: { ...schema, response: { ...responses, 200: documented } }, url };
};

/** OpenAPI generated from the same zod schemas that validate the routes. */
export const docsPlugin = fp(async (app: FastifyInstance) => {
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Avatar upload API', version: '1.0.0', description: 'Asynchronous avatar uploads: POST, then poll the status URL.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: documentRoute,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
});
