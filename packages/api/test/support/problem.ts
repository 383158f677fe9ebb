import { expect } from 'vitest';

/** Anything that tells an attacker about the server's insides. */
const LEAKS = [/\n\s+at /, /"stack"/i, /\/work\b/, /\/tmp\b/, /node_modules/, /\.ts:\d+/, /\/home\//];

/**
 * Asserts one problem+json answer: the status, the stable code, the documented members,
 * and no stack trace or server path anywhere in the body (`extraLeaks` adds the test's own
 * directories, such as the staging dir).
 */
export function expectProblem(
  response: { status: number; contentType: string | null | undefined; text: string },
  status: number,
  code: string,
  extraLeaks: string[] = [],
): Record<string, unknown> {
  const summary = `${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, summary).toBe(status);
  expect(response.contentType ?? '', summary).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.text) as Record<string, unknown>;
  expect(body, summary).toMatchObject({ status, code, type: expect.stringContaining(code) });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  for (const leak of LEAKS) expect(response.text, `leak ${String(leak)} in ${summary}`).not.toMatch(leak);
  for (const leak of extraLeaks) expect(response.text.includes(leak), `leak ${leak} in ${summary}`).toBe(false);
  return body;
}
