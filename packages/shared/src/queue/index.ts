export * from './avatar-queue.js';
export * from './redis-connection.js';
export * from './delete-redis-prefix.js';
