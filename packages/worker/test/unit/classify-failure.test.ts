import { describe, expect, it } from 'vitest';
import { FastdfsError } from '@avatar/fastdfs';
import { AppError } from '@avatar/shared';
import { classifyFailure } from '../../src/domain/classify-failure.js';

describe('classifyFailure: retry or fail for good', () => {
  it('retries FastDFS outages (connect, timeout, closed, busy) as storage_unavailable', () => {
    for (const error of [
      new FastdfsError('connect', 'connect ECONNREFUSED 127.0.0.1:23000'),
      new FastdfsError('timeout', 'no answer'),
      new FastdfsError('closed', 'socket closed'),
      FastdfsError.fromStatus(11, 16),
    ]) {
      expect(classifyFailure(error)).toMatchObject({ retry: true, code: 'storage_unavailable' });
    }
  });

  it('fails at once when FastDFS refuses the request (invalid, no such file)', () => {
    expect(classifyFailure(FastdfsError.fromStatus(11, 22))).toMatchObject({ retry: false, code: 'storage_error' });
    expect(classifyFailure(new FastdfsError('invalid_argument', 'bad ext'))).toMatchObject({ retry: false, code: 'storage_error' });
  });

  it('fails permanent AppErrors at once with their code, and retries retryable ones', () => {
    expect(classifyFailure(new AppError('image_undecodable'))).toMatchObject({ retry: false, code: 'image_undecodable' });
    expect(classifyFailure(new AppError('user_not_found'))).toMatchObject({ retry: false, code: 'user_not_found' });
    expect(classifyFailure(new AppError('staged_file_missing'))).toMatchObject({ retry: false, code: 'staged_file_missing' });
    expect(classifyFailure(new AppError('service_unavailable'))).toMatchObject({ retry: true, code: 'service_unavailable' });
  });

  it('retries PostgreSQL connection loss, refusal, admin shutdown and pool timeouts', () => {
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const lost = new Error('Connection terminated unexpectedly');
    const pool = Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' });
    const wrapped = new Error('query failed', { cause: terminated });
    for (const error of [terminated, refused, lost, pool, wrapped]) {
      expect(classifyFailure(error)).toMatchObject({ retry: true, code: 'service_unavailable' });
    }
  });

  it('retries Redis being unreachable (offline queue disabled, connection closed)', () => {
    expect(classifyFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatchObject({ retry: true, code: 'service_unavailable' });
    expect(classifyFailure(new Error('Connection is closed.'))).toMatchObject({ retry: true, code: 'service_unavailable' });
  });

  it('does not treat a constraint violation as an outage, but still retries unknown errors as internal_error', () => {
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(classifyFailure(unique)).toMatchObject({ retry: true, code: 'internal_error' });
    expect(classifyFailure('a string')).toMatchObject({ retry: true, code: 'internal_error', message: 'a string' });
  });
});
