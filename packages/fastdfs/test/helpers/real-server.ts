import { describe, it } from 'vitest';
import { findRealFastdfs } from '../../src/testing/index.js';

/** Why real-server tests cannot run here, or undefined when they can. */
export const realFastdfsMissing: string | undefined =
  findRealFastdfs() === undefined ? 'the real FastDFS launcher was not found (set FDFS_REAL, or put shared/fastdfs beside the checkout)' : undefined;

/**
 * Stands in for a suite that needs the real FastDFS when it is missing: a failing test on
 * CI (where it must run), a skipped one that says why elsewhere. Never a silent pass.
 */
export function describeRealMissing(name: string): void {
  if (realFastdfsMissing === undefined) return;
  if (process.env.CI) {
    describe(name, () => {
      it('needs the real FastDFS on CI', () => {
        throw new Error(realFastdfsMissing);
      });
    });
  } else {
    describe.skip(`${name} — skipped: ${realFastdfsMissing}`, () => {
      it('needs the real FastDFS', () => undefined);
    });
  }
}
