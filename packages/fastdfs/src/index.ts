export { FastdfsClient } from './client/fastdfs-client.js';
export type {
  DownloadOptions,
  FileContent,
  FileInfo,
  MetadataMode,
  SetMetadataOptions,
  SignalOption,
  UploadOptions,
  UploadSlaveOptions,
} from './client/fastdfs-client.js';
export type { FastdfsClientOptions } from './client/options.js';
export { FastdfsError } from './errors/fastdfs-error.js';
export type { FastdfsErrorKind } from './errors/fastdfs-error.js';
export { isValidFileId, parseFileId, slaveFileId } from './file-id.js';
export type { ParsedFileId } from './file-id.js';
export { Command, Status } from './protocol/commands.js';
export { startDevServer } from './dev-server/dev-server.js';
export type { DevServer, DevServerConnections, DevServerOptions, DevStorage, DevStorageOptions } from './dev-server/dev-server.js';
export type { StorageControl, StorageRunState } from './dev-server/storage-node.js';
