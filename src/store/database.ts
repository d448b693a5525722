import { closeSync, fsync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Sql = BetterSqlite3.Database;

/**
 * The embedded database: one SQLite file, `<dataDir>/wekube.db`, for all of wekube's state (the inbox and outbox,
 * alert state and pending batches, the audit log, subscriptions and pending changes, drill runs). Why SQLite and
 * not lowdb: every lowdb write serialises the whole document, so its cost grows with what is stored, and two
 * documents cannot change in one atomic write.
 *
 * - One transaction is one commit: a callback's inbox row, a reply and its done mark, a batch and its outbox key
 *   land together or not at all; a failed transaction leaves nothing behind, in the file or in memory.
 * - Group commit. A commit writes the log (WAL) and returns; it survives a crash of the process at once. Before
 *   anything is acknowledged to the outside (a callback's 200, a webhook's 200, a command starting), `durable()`
 *   waits for an fsync of the log that covers it. One fsync, run off the event loop, covers every commit made before
 *   it started, so many acknowledgements share it (`synchronous = FULL` would fsync on the event loop at every
 *   commit). A crash or power loss at any point leaves a file that opens (WAL with `synchronous = NORMAL`).
 * - A failed write (disk full, read-only, I/O error) marks the store unhealthy; the next successful commit, or the
 *   probe that readiness runs, marks it healthy again: recovery needs nobody.
 */
export class Database {
  readonly file: string;
  readonly sql: Sql;
  #lastError: Error | undefined;

  private constructor(file: string) {
    this.file = file;
    try {
      this.sql = new BetterSqlite3(file);
      this.sql.pragma('journal_mode = WAL');
      this.sql.pragma('synchronous = NORMAL');
      this.sql.pragma('busy_timeout = 5000');
      migrate(this.sql);
    } catch (error) {
      throw new Error(`cannot open ${file}: ${(error as Error).message}; move it aside to start with an empty store`);
    }
  }

  static open(dataDir: string): Database {
    mkdirSync(dataDir, { recursive: true });
    return new Database(join(dataDir, 'wekube.db'));
  }

  /**
   * Runs `work` in one transaction (a savepoint when already inside one) and returns its result once committed.
   * Anything `work` throws rolls everything back and is thrown again.
   */
  transaction<T>(work: () => T): T {
    if (this.sql.inTransaction) return this.sql.transaction(work)();
    try {
      const result = this.sql.transaction(work).immediate();
      this.#lastError = undefined;
      return result;
    } catch (error) {
      if (isStorageError(error)) this.#lastError = error as Error;
      throw error;
    }
  }

  #walFd: number | undefined;
  #syncing = false;
  /** Commits so far that asked to be made durable, and who waits for them. */
  #asked = 0;
  #waiting: { upTo: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  /** Who asked to run once no fsync is under way (sqlite-client.ts, to commit the writes that waited for it). */
  #idle: (() => void)[] = [];

  /**
   * Runs `then` as soon as no fsync is under way: at once (in a microtask) when none is, else right after the one
   * that runs finishes and before the next starts, so whatever `then` commits is covered by that next fsync.
   */
  whenSyncIdle(then: () => void): void {
    if (this.#syncing) this.#idle.push(then);
    else queueMicrotask(then);
  }

  /**
   * Resolves once every commit made so far is on disk (the log fsync'd). Calls while an fsync runs share the next
   * one; an fsync failure (EIO, ENOSPC) rejects its waiters and makes the store unready until a write succeeds.
   */
  durable(): Promise<void> {
    const upTo = ++this.#asked;
    return new Promise((resolve, reject) => {
      this.#waiting.push({ upTo, resolve, reject });
      this.#sync();
    });
  }

  #sync(): void {
    if (this.#syncing || this.#waiting.length === 0) return;
    this.#syncing = true;
    const upTo = this.#asked;
    const settle = (error: Error | null) => {
      this.#syncing = false;
      const covered = this.#waiting.filter((waiter) => waiter.upTo <= upTo);
      this.#waiting = this.#waiting.filter((waiter) => waiter.upTo > upTo);
      if (error) this.#lastError = error;
      for (const waiter of covered) error ? waiter.reject(error) : waiter.resolve();
      const idle = this.#idle;
      this.#idle = [];
      for (const then of idle) then();
      this.#sync();
    };
    try {
      if (this.#walFd === undefined) {
        this.#walFd = openSync(`${this.file}-wal`, 'r');
        // The log's directory entry, once: the file itself is fsync'd on every call.
        const directory = openSync(dirname(this.file), 'r');
        try {
          fsync(directory, () => closeSync(directory));
        } catch {
          closeSync(directory);
        }
      }
      fsync(this.#walFd, settle);
    } catch (error) {
      settle(error as Error);
    }
  }

  readonly #prepared = new Map<string, BetterSqlite3.Statement>();

  /** A statement prepared once and kept: the SQL seam's statements are a few dozen texts. */
  prepared(sql: string): BetterSqlite3.Statement {
    let statement = this.#prepared.get(sql);
    if (!statement) this.#prepared.set(sql, (statement = this.sql.prepare(sql)));
    return statement;
  }

  /**
   * Runs async `work` between BEGIN IMMEDIATE and COMMIT (ROLLBACK when it throws). The caller holds the connection
   * for the whole of it (sqlite-client.ts takes turns), so nothing else runs statements inside this transaction.
   */
  async transactionAsync<T>(work: () => Promise<T>): Promise<T> {
    try {
      this.sql.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (isStorageError(error)) this.#lastError = error as Error;
      throw error;
    }
    try {
      const result = await work();
      this.sql.exec('COMMIT');
      this.#lastError = undefined;
      return result;
    } catch (error) {
      if (this.sql.inTransaction) this.sql.exec('ROLLBACK');
      if (isStorageError(error)) this.#lastError = error as Error;
      throw error;
    }
  }

  /** The last write failed and none has succeeded since. */
  get error(): { file: string; message: string } | undefined {
    return this.#lastError ? { file: this.file, message: this.#lastError.message } : undefined;
  }

  /** After a failure: tries one small write, so readiness comes back as soon as the disk does. */
  probe(): boolean {
    if (!this.#lastError) return true;
    // A transaction holds the connection (sqlite-client.ts): its commit will tell.
    if (this.sql.inTransaction) return false;
    try {
      this.transaction(() => this.sql.prepare("INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(Date.now())));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.sql.open) this.sql.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
  }
}

/** Errors of the disk or the file, as opposed to a bug in a statement: these make the store unready. */
function isStorageError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|BUSY|LOCKED|PROTOCOL|NOMEM)/.test(code);
}

function migrate(sql: Sql): void {
  sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = sql.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
  const current = row ? Number(row.value) : 0;
  if (current > MIGRATIONS.length) throw new Error(`its schema version ${current} is newer than this wekube knows (${MIGRATIONS.length})`);
  sql.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) sql.exec(MIGRATIONS[version]!);
    sql.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(MIGRATIONS.length));
  }).immediate();
}
