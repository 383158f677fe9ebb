export * from './app.js';
export * from './api-runtime.js';
export type { AppDeps } from './deps.js';
export { StagingStore } from './adapters/staging-store.js';
export { UploadEventListener } from './adapters/upload-event-listener.js';
