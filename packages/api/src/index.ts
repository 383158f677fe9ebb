export * from './app.js';
export * from './api-runtime.js';
export type { AppDeps } from './deps.js';
export type { StagingStore } from './adapters/staging-store.js';
export { LocalStagingStore } from './adapters/local-staging-store.js';
export { FastdfsStagingStore } from './adapters/fastdfs-staging-store.js';
export { UploadEventListener } from './adapters/upload-event-listener.js';
