export * from './real-fastdfs.js';
