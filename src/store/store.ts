import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { DurableJsonFile } from './durable-file.js';

/**
 * One lowdb file under the data dir, for the small documents that change at the pace of people (subscriptions,
 * pending changes, the audit log); what changes with every event lives in the database (database.ts). Changes are
 * made to `data` in memory; `save()` resolves once a write that includes them is durable (durable-file.ts).
 * Writes are coalesced: every `save()` made while a write is in flight shares the one write after it. A failed
 * write is tried again on its own, with backoff, until one succeeds: memory holds the truth meanwhile, and
 * readiness says the file cannot be written.
 */
export class Collection<T> {
  #db: Low<T>;
  /** Saves asked for since the current write started; they all share the next write. */
  #next: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;
  #writing: Promise<void> | undefined;
  #lastError: Error | undefined;
  /** A failed write is tried again after this long, doubling up to 30 s. */
  #retryMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    db: Low<T>,
    private readonly flushDelayMs: number,
  ) {
    this.#db = db;
  }

  get data(): T {
    return this.#db.data;
  }

  /** The last write failed (and no write has succeeded since). */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  save(): Promise<void> {
    if (!this.#next) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#next = { promise, resolve, reject };
      if (!this.#writing) setTimeout(() => void this.#write(), this.flushDelayMs);
    }
    return this.#next.promise;
  }

  async #write(): Promise<void> {
    const batch = this.#next;
    if (!batch) return;
    this.#next = undefined;
    // Data is serialised when the write starts, so it holds every change made before this point.
    this.#writing = this.#db.write().then(
      () => {
        this.#lastError = undefined;
        batch.resolve();
      },
      (error: Error) => {
        this.#lastError = error;
        batch.reject(error);
      },
    );
    await this.#writing;
    this.#writing = undefined;
    if (this.#next) void this.#write();
    else if (this.#lastError) this.#retry();
  }

  #retry(): void {
    if (this.#retryTimer) return;
    this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 500), 30_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.save().then(
        () => (this.#retryMs = 0),
        () => undefined, // #write schedules the next try
      );
    }, this.#retryMs);
    this.#retryTimer.unref();
  }

  /** Waits for every write asked for so far. */
  async flush(): Promise<void> {
    while (this.#next || this.#writing) await (this.#writing ?? this.#next!.promise).catch(() => undefined);
  }
}

export class Store {
  readonly #collections: Collection<unknown>[] = [];

  constructor(
    readonly dataDir: string,
    private readonly options: { flushDelayMs?: number } = {},
  ) {
    mkdirSync(dataDir, { recursive: true });
  }

  /** Opens (or creates) `<dataDir>/<name>.json`. A file that is not valid JSON stops start-up with its name. */
  async open<T>(name: string, defaults: () => T): Promise<Collection<T>> {
    const file = join(this.dataDir, `${name}.json`);
    const adapter = new DurableJsonFile<T>(file);
    const db = new Low<T>(adapter, defaults());
    try {
      await db.read();
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}; move it aside to start with an empty ${name}`);
    }
    const collection = new Collection(file, db, this.options.flushDelayMs ?? 0);
    this.#collections.push(collection as Collection<unknown>);
    return collection;
  }

  /** The first write error of any file, for readiness. */
  get error(): { file: string; message: string } | undefined {
    const failed = this.#collections.find((collection) => collection.lastError);
    return failed ? { file: failed.file, message: failed.lastError!.message } : undefined;
  }

  async flush(): Promise<void> {
    await Promise.all(this.#collections.map((collection) => collection.flush()));
  }
}
