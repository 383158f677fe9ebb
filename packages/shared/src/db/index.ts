export * from './create-db.js';
export * from './migration-source.js';
