import { FastdfsError } from '../../src/index.js';

/** The FastdfsError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<FastdfsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FastdfsError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
