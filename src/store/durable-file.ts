import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

/**
 * A lowdb adapter whose write is durable: the document goes to a temporary file that is fsync'd, renamed over the
 * old one, and the directory fsync'd, so a write that resolved survives a power loss and a crash at any point
 * leaves the old file or the new one, whole. A failed write (disk full, read-only) removes its temporary file,
 * so it never holds space the other files need.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly #temp: string;

  constructor(readonly file: string) {
    this.#temp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return JSON.parse(text) as T;
  }

  async write(data: T): Promise<void> {
    const text = JSON.stringify(data);
    try {
      const handle = await open(this.#temp, 'w');
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(this.#temp, this.file);
    } catch (error) {
      await rm(this.#temp, { force: true }).catch(() => undefined);
      throw error;
    }
    const directory = await open(dirname(this.file), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
