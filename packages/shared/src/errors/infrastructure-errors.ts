/** Network-level error codes that mean "a dependency is unreachable right now", not "this input is bad". */
const transientNetworkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** PostgreSQL SQLSTATE classes and codes for connection loss, shutdown and overload. */
const transientPgStates = ['08', '53', '57P01', '57P02', '57P03', '40001', '40P01'];

/** Error classes (by name: the libraries do not all export them) that mean a pool or a command gave up waiting. */
const transientErrorNames = new Set(['KnexTimeoutError', 'MaxRetriesPerRequestError']);

/**
 * What ioredis, pg and pg-pool say when a connection is lost or never made, for the errors
 * they throw with no code: a plain Error whose message is the only signal. The one place
 * that reads those messages; its test provokes each one from the real library.
 */
const connectionLossTexts = /enableOfflineQueue|Connection is closed|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Command timed out/i;

export function saysConnectionLost(message: string): boolean {
  return connectionLossTexts.test(message);
}

function codeOf(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function isTransientCode(code: string): boolean {
  if (transientNetworkCodes.has(code)) return true;
  return /^[0-9A-Z]{5}$/.test(code) && transientPgStates.some((state) => code.startsWith(state));
}

/**
 * True when `error` (or one of its causes) says PostgreSQL or Redis could not be reached or
 * lost the connection, so the API answers 503 (nothing accepted, retry later) and the
 * worker retries the job. By code and class first; by message only where a library gives nothing else.
 */
export function isInfrastructureError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = codeOf(current);
    if (code && isTransientCode(code)) return true;
    const name = (current as { name?: unknown }).name;
    if (typeof name === 'string' && transientErrorNames.has(name)) return true;
    if (saysConnectionLost(String((current as { message?: unknown }).message ?? ''))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
