export * from './bmp-fixtures.js';
export * from './container-bombs.js';
