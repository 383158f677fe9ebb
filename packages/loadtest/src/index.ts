export * from './run-load-test.js';
export * from './stats.js';
export * from './sample-images.js';
export * from './options.js';
export * from './report/report-types.js';
export * from './report/figures.js';
export * from './report/targets.js';
export * from './report/report-html.js';
