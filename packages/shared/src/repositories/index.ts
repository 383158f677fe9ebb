export * from './uploads-repository.js';
export * from './upload-events-repository.js';
export * from './user-detail-repository.js';
export * from './upload-stats-repository.js';
export * from './staged-originals-repository.js';
export * from './repositories.js';
