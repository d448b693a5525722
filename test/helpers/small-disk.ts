import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Fills what is left with a ballast file, so the next write that needs space fails with ENOSPC. */
  fill(): void;
  /** Removes the ballast. */
  free(): void;
  unmount(): void;
}

/**
 * A real, small filesystem (tmpfs with a size limit) for the data dir, so a test can make the disk full and
 * free it again while the bot runs. Mounting needs root, as CI runs.
 */
export function smallDisk(sizeMb = 32): SmallDisk {
  if (process.getuid?.() !== 0) throw new Error('the disk-full tests mount a small tmpfs and must run as root (CI does)');
  const dir = mkdtempSync(join(tmpdir(), 'wekube-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir]);
  const ballast = join(dir, 'ballast');
  return {
    dir,
    fill() {
      // Large chunks first, then small ones for the last bytes the large ones left.
      const fd = openSync(ballast, 'a');
      try {
        for (const size of [64 * 1024, 512]) {
          const chunk = Buffer.alloc(size, 1);
          try {
            for (;;) writeSync(fd, chunk);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(ballast, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir]);
      } finally {
        if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
