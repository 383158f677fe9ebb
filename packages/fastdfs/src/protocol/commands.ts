/** Command codes of the FastDFS wire protocol (FastDFS 6.x). */
export const Command = {
  /** Every response carries this command byte, from tracker and storage alike. */
  RESPONSE: 100,
  QUIT: 82,
  ACTIVE_TEST: 111,

  TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE: 101,
  TRACKER_QUERY_FETCH_ONE: 102,
  TRACKER_QUERY_UPDATE: 103,
  TRACKER_QUERY_STORE_WITH_GROUP_ONE: 104,
  TRACKER_QUERY_FETCH_ALL: 105,
  TRACKER_QUERY_STORE_WITHOUT_GROUP_ALL: 106,
  TRACKER_QUERY_STORE_WITH_GROUP_ALL: 107,

  STORAGE_UPLOAD_FILE: 11,
  STORAGE_DELETE_FILE: 12,
  STORAGE_SET_METADATA: 13,
  STORAGE_DOWNLOAD_FILE: 14,
  STORAGE_GET_METADATA: 15,
  STORAGE_UPLOAD_SLAVE_FILE: 21,
  STORAGE_QUERY_FILE_INFO: 22,
} as const;

/** Linux errno values the servers answer with in the header's status byte. */
export const Status = {
  OK: 0,
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EALREADY: 114,
} as const;

/** Metadata write modes: the single flag byte of command 13. */
export const MetadataFlag = {
  overwrite: 0x4f, // 'O'
  merge: 0x4d, // 'M'
} as const;
