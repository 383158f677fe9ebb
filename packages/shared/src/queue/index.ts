export * from './avatar-queue.js';
export * from './redis-connection.js';
