import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { smallDisk } from '../helpers/small-disk.js';
import { waitFor } from '../helpers/wait.js';

describe('store', () => {
  it('coalesces a burst of saves into a few writes, and every save resolves once its data is on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wekube-store-'));
    const store = new Store(dir);
    const items = await store.open<{ items: number[] }>('items', () => ({ items: [] }));
    const file = join(dir, 'items.json');
    // Each distinct content the file takes during the burst is one write.
    const contents = new Set<string>();
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      items.data.items.push(i);
      saves.push(
        items.save().then(() => {
          const content = readFileSync(file, 'utf8');
          contents.add(content);
          expect((JSON.parse(content) as { items: number[] }).items.length).toBeGreaterThan(i);
        }),
      );
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(saves);
    expect(contents.size).toBeLessThan(30);
    expect(JSON.parse(readFileSync(file, 'utf8')).items).toHaveLength(1000);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to start on a corrupt file and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wekube-store-'));
    writeFileSync(join(dir, 'inbox.json'), '{"entries": {');
    await expect(new Store(dir).open('inbox', () => ({}))).rejects.toThrow(/inbox\.json: .*move it aside/);
  });

  it('leaves no temporary file behind when the disk is full, and writes again by itself once there is room', async () => {
    const disk = smallDisk(4);
    try {
      const store = new Store(disk.dir);
      const items = await store.open<{ items: string[] }>('items', () => ({ items: [] }));
      items.data.items.push('first');
      await items.save();
      disk.fill();
      items.data.items.push('x'.repeat(100_000));
      await expect(items.save()).rejects.toThrow(/ENOSPC/);
      expect(store.error?.file).toMatch(/items\.json$/);
      expect(readdirSync(disk.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(JSON.parse(readFileSync(join(disk.dir, 'items.json'), 'utf8')).items).toEqual(['first']);
      disk.free();
      // Nobody saves again: the store retries on its own.
      await waitFor(() => store.error === undefined, 5_000);
      expect(JSON.parse(readFileSync(join(disk.dir, 'items.json'), 'utf8')).items).toHaveLength(2);
    } finally {
      disk.unmount();
    }
  });
});
