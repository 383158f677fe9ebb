export * from './upload-status.js';
export * from './upload-event.js';
export * from './upload.js';
export * from './avatar-url.js';
export * from './upload-retry.js';
