import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, isInfrastructureError, type ErrorCode } from '@avatar/shared';
import { isMalformedMultipartMessage } from '../external/multipart.js';

/** Fastify and plugin error codes, translated into the product's codes. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: 'file_too_large',
  FST_FILES_LIMIT: 'too_many_parts',
  FST_PARTS_LIMIT: 'too_many_parts',
  FST_FIELDS_LIMIT: 'too_many_parts',
  FST_PROTO_VIOLATION: 'malformed_multipart',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'not_multipart',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'not_multipart',
  FST_ERR_CTP_BODY_TOO_LARGE: 'file_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_BAD_URL: 'validation_failed',
  FST_ERR_MAX_PARAM_LENGTH: 'validation_failed',
  FST_CSRF_MISSING_SECRET: 'csrf_token_invalid',
  FST_CSRF_INVALID_TOKEN: 'csrf_token_invalid',
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    return new AppError('validation_failed', error.message, { cause: error });
  }
  const fastifyError = error as Partial<FastifyError>;
  // fast-jwt's own TokenErrors (bad algorithm, malformed, missing signature) reach here
  // unwrapped: every one is a token the client sent, never a fault of ours
  if (fastifyError.code?.startsWith('FAST_JWT_') || fastifyError.code?.startsWith('FST_JWT_')) {
    return new AppError('unauthorized', 'Missing, malformed or expired token', { cause: error });
  }
  const mapped = fastifyError.code ? frameworkCodes[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, undefined, { cause: error });
  if (fastifyError.code?.startsWith('FST_ERR_CTP')) return new AppError('malformed_multipart', undefined, { cause: error });
  if (isInfrastructureError(error)) return new AppError('service_unavailable', 'A dependency is unavailable; nothing was accepted, retry later', { cause: error });
  if (isMalformedMultipartMessage(String(fastifyError.message))) return new AppError('malformed_multipart', undefined, { cause: error });
  return new AppError('internal_error', 'Something went wrong', { cause: error });
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  if (error.status === 503 || error.status === 429) {
    if (!reply.hasHeader('retry-after')) reply.header('retry-after', error.status === 503 ? '5' : '60');
  }
  // RFC 6750: tell the client which scheme it failed (the dashboard sets Basic itself)
  if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="avatar"');
  // a body we stopped reading cannot be resynchronised: close the connection after answering
  if (error.code === 'request_timeout' || error.code === 'file_too_large') reply.header('connection', 'close');
  return reply
    .code(error.status)
    .header('x-error-code', error.code)
    .type('application/problem+json')
    // an unrouted path is whatever the client typed: never echo it back
    .send(problemBody(error, request.is404 ? undefined : request.url.split('?')[0]));
}

/** The problem+json document for an error: the same fields wherever it is answered from. */
export function problemBody(error: AppError, instance?: string): Record<string, unknown> {
  return {
    type: `https://errors.avatar.invalid/${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
    ...error.extra,
  };
}

/** Node's own refusals that are not malformed requests: too large, or too slow (headers past `headersTimeout`). */
const parserRefusalCodes: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};

/**
 * Requests Node's HTTP parser refuses never reach Fastify's routing (oversized headers,
 * garbage, request smuggling): answer them as problem+json too, then close the socket.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const problem = new AppError(parserRefusalCodes[error.code ?? ''] ?? 'malformed_request');
  const body = JSON.stringify(problemBody(problem));
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** One renderer for every error: problem+json with a stable code, never a stack or a path. */
export const errorHandlerPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error, request, reply) => {
    const problem = toAppError(error);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    else request.log.info({ code: problem.code, reason: (error as Error).message }, 'request refused');
    return sendProblem(reply, request, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, new AppError('not_found', 'No such route')));
});
