import { createDb, exitOnStartupError, loadConfig, migrateToLatest } from '../index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: 2 });
  try {
    const applied = await migrateToLatest(db, config.tables);
    console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
  } finally {
    await db.destroy();
  }
}

main().catch(exitOnStartupError);
