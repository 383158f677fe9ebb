/** Network-level error codes that mean "a dependency is unreachable right now", not "this input is bad". */
const transientNetworkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** PostgreSQL SQLSTATE classes and codes for connection loss, shutdown and overload. */
const transientPgStates = ['08', '53', '57P01', '57P02', '57P03', '40001', '40P01'];

function codeOf(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True when `error` says PostgreSQL or Redis could not be reached or lost the connection,
 * so the API answers 503 (nothing accepted, retry later) and the worker retries the job.
 */
export function isInfrastructureError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const name = (current as { name?: unknown }).name;
    const message = String((current as { message?: unknown }).message ?? '');
    const code = codeOf(current);
    if (code && transientNetworkCodes.has(code)) return true;
    if (code && /^[0-9A-Z]{5}$/.test(code) && transientPgStates.some((s) => code.startsWith(s))) return true;
    if (name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError') return true;
    if (/enableOfflineQueue|Connection is closed|Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|Command timed out/i.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
