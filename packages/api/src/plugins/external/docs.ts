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

/** Every route's OpenAPI: the zod schemas that validate it, rendered as JSON Schema. */
const documentRoute: SwaggerTransform = (input) => {
  const { schema, url } = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]);
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
