export * from './error-codes.js';
export * from './app-error.js';
export * from './infrastructure-errors.js';
