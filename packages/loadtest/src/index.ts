export * from './run-load-test.js';
export * from './stats.js';
export * from './sample-images.js';
