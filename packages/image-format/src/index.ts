// What an upload is, judged from its bytes: the API's probe before anything is recorded,
// and the worker's BMP decoder for what sharp cannot read.
export { inspectImage, maxContainerRecords, MAX_PNG_CHUNKS, RECORDS_PER_FRAME, type ImageLimits, type InspectedImage } from './inspect-image.js';
export { decodeBmp, isBmp, type BmpDecodeOptions, type DecodedBitmap } from './bmp-decoder.js';
