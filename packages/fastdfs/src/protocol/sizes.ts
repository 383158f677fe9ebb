/** Fixed field sizes of the wire protocol, in bytes. */
export const HEADER_SIZE = 10;
export const INT64_SIZE = 8;
export const GROUP_NAME_SIZE = 16;
export const EXT_NAME_SIZE = 6;
export const PREFIX_SIZE = 16;
export const STORE_PATH_INDEX_SIZE = 1;

/** IP fields in tracker answers: 15 bytes, or 45 when the tracker is set up for IPv6-sized answers. */
export const IP_FIELD_SIZE_SHORT = 15;
export const IP_FIELD_SIZE_LONG = 45;
export type IpFieldSize = typeof IP_FIELD_SIZE_SHORT | typeof IP_FIELD_SIZE_LONG;

/** Path index byte that lets the storage server pick its store path. */
export const STORE_PATH_INDEX_ANY = 0xff;

/** Record and field separators of packed metadata. */
export const METADATA_RECORD_SEPARATOR = 0x01;
export const METADATA_FIELD_SEPARATOR = 0x02;
export const METADATA_KEY_MAX_BYTES = 64;
export const METADATA_VALUE_MAX_BYTES = 256;

/** Length of the base64 part of a generated file name (20 bytes, unpadded). */
export const FILE_NAME_BASE64_LENGTH = 27;
/**
 * Tracker bodies naming a file are below 144 bytes (16 + remote name), so a remote
 * name has at most 127 bytes.
 */
export const REMOTE_NAME_MAX_LENGTH = 127;
