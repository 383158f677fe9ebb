import type { Knex } from 'knex';
import { UploadJournal } from '../services/upload-journal.js';
import { StagedOriginalsRepository } from './staged-originals-repository.js';
import { UploadEventsRepository } from './upload-events-repository.js';
import { UploadStatsRepository } from './upload-stats-repository.js';
import { UploadsRepository } from './uploads-repository.js';
import { UserDetailRepository } from './user-detail-repository.js';

/** The deployment's names for the user tables it shares with the old site (USERS_TABLE, USER_DETAIL_TABLE). */
export interface TableNames {
  users: string;
  userDetail: string;
}

/**
 * Every repository of one database handle, with the table names bound once. A process's
 * composition root builds one set; code below it asks for a transaction and gets the same
 * set bound to it (the unit of work), so nothing else ever constructs a repository.
 */
export class Repositories {
  readonly uploads: UploadsRepository;
  readonly events: UploadEventsRepository;
  readonly userDetail: UserDetailRepository;
  readonly stats: UploadStatsRepository;
  readonly stagedOriginals: StagedOriginalsRepository;
  /** The single writer of upload status and events. */
  readonly journal: UploadJournal;

  constructor(
    private readonly db: Knex,
    private readonly tables: TableNames,
  ) {
    this.uploads = new UploadsRepository(db, tables);
    this.events = new UploadEventsRepository(db);
    this.userDetail = new UserDetailRepository(db, tables);
    this.stats = new UploadStatsRepository(db);
    this.stagedOriginals = new StagedOriginalsRepository(db);
    this.journal = new UploadJournal(this);
  }

  /**
   * Runs `work` in one transaction with the repositories bound to it. Already inside one,
   * it joins it: a step that needs a transaction can be part of a larger one.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return this.db.transaction((trx) => work(new Repositories(trx, this.tables)));
  }

  /** Proves the database answers (readiness). */
  async ping(): Promise<void> {
    await this.db.raw('select 1');
  }
}
