import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/clock/clock.js';
import { Database } from '../../src/store/database.js';
import { Leadership } from '../../src/store/leadership.js';
import { PostgresClient } from '../../src/store/postgres-client.js';
import { SqliteClient } from '../../src/store/sqlite-client.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { stallingRelay } from '../helpers/relay.js';
import { ManualClock } from '../helpers/clock.js';
import { waitFor } from '../helpers/wait.js';

// One leader among replicas, elected through PostgreSQL itself: a real server, real replicas (each its own pool),
// a leader that dies without a word, a deposed leader's late write, and the database going away.

const logger = pino({ level: 'silent' });
let postgres: RunningPostgres;
const closing: (() => Promise<void>)[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const close of closing) await close().catch(() => {});
  await postgres?.stop();
});

/** A replica: its own pool, its own leadership. With a clock nobody moves, it takes the lease once and then is as good as dead. */
async function replica(url: string, id: string, clock: Clock = systemClock) {
  const sql = await PostgresClient.open(url);
  const leadership = new Leadership(sql, { id, ttlMs: 1_500, renewMs: 250, clock, logger });
  closing.push(async () => {
    await leadership.stop();
    await sql.close();
  });
  await leadership.start();
  return { sql, leadership };
}

async function relayTo(url: string) {
  const relay = await stallingRelay(url);
  closing.push(async () => relay.close());
  return relay;
}

describe('leadership through PostgreSQL', () => {
  it('elects one leader; when it dies the other takes over within the lease, and the dead one’s late writes change nothing', async () => {
    const url = await postgres.database('leader');
    // a's clock never moves: after taking the lease it never renews, as if its process died.
    const a = await replica(url, 'a', new ManualClock());
    const took = Date.now();
    const b = await replica(url, 'b');
    expect([a.leadership.leading, b.leadership.leading]).toEqual([true, false]);
    const first = a.leadership.epoch!;
    await b.sql.run('CREATE TABLE fenced (k TEXT PRIMARY KEY, v INTEGER)');
    await b.sql.run("INSERT INTO fenced VALUES ('x', 0)");
    const write = (by: typeof a, epoch: number | undefined, value: number) => {
      const fence = by.leadership.fence(epoch);
      return by.sql.run(`UPDATE fenced SET v = ? WHERE k = 'x' AND ${fence.sql}`, [value, ...fence.params]);
    };
    expect(await write(a, first, 1)).toBe(1);
    await waitFor(() => b.leadership.leading, 10_000, 'b takes over');
    // Within the lease (1.5 s) and one round of trying (0.25 s), with a little slack for the machine.
    expect(Date.now() - took).toBeLessThan(1_500 + 250 + 500);
    expect(b.leadership.epoch).toBe(first + 1);
    // a still believes it leads (it never looked again), but its late write, fenced by its epoch, changes nothing.
    expect(a.leadership.leading).toBe(true);
    expect(await write(a, first, 2)).toBe(0);
    expect(await write(b, b.leadership.epoch, 3)).toBe(1);
    expect(await b.sql.get('SELECT v FROM fenced')).toEqual({ v: 3 });
  });

  it('hands over at once when the leader stops', async () => {
    const url = await postgres.database('handover');
    const a = await replica(url, 'a');
    const b = await replica(url, 'b');
    const stopped = Date.now();
    await a.leadership.stop();
    await waitFor(() => b.leadership.leading, 5_000, 'b takes over');
    expect(Date.now() - stopped).toBeLessThan(250 + 300);
  });

  it('steps down when its renewal never comes back, before another replica can take the lease', async () => {
    const url = await postgres.database('hang');
    const relay = await relayTo(url);
    const a = await replica(relay.url, 'a');
    const b = await replica(url, 'b');
    expect([a.leadership.leading, b.leadership.leading]).toEqual([true, false]);
    // a's statements now go nowhere and never fail; b still reaches the database.
    relay.stall();
    let both = false;
    const stalled = Date.now();
    await waitFor(() => {
      both ||= a.leadership.leading && b.leadership.leading;
      return b.leadership.leading;
    }, 10_000, 'b takes over');
    expect(both).toBe(false);
    expect(a.leadership.leading).toBe(false);
    expect(Date.now() - stalled).toBeLessThan(1_500 + 250 + 500);
    // a's renewal, let through at last, finds the lease b's: a does not lead again.
    relay.resume();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect([a.leadership.leading, b.leadership.leading]).toEqual([false, true]);
  }, 30_000);

  it('hands over at once even when a renewal still under way lands after the leader let go', async () => {
    const url = await postgres.database('late');
    const relay = await relayTo(url);
    const a = await replica(relay.url, 'a');
    const b = await replica(url, 'b');
    expect(a.leadership.leading).toBe(true);
    // a's next renewal goes into its connection and stays there; its release, on a new connection, gets through.
    relay.stall(false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await a.leadership.stop();
    relay.resume();
    const resumed = Date.now();
    await waitFor(() => b.leadership.leading, 5_000, 'b takes over');
    // b's next round (0.25 s), not the end of a lease the late renewal took back (1.5 s).
    expect(Date.now() - resumed).toBeLessThan(250 + 400);
    expect(a.leadership.leading).toBe(false);
  });

  it('never has two leaders while the database is away, and elects one again when it is back', async () => {
    const url = await postgres.database('outage');
    const a = await replica(url, 'a');
    const b = await replica(url, 'b');
    expect(a.leadership.leading).toBe(true);
    await postgres.pause();
    // The leader cannot renew: it steps down before its lease could expire; nobody can take it meanwhile.
    await waitFor(() => !a.leadership.leading, 5_000, 'a steps down');
    expect(b.leadership.leading).toBe(false);
    await postgres.start();
    await waitFor(() => a.leadership.leading || b.leadership.leading, 15_000, 'a leader again');
    expect(a.leadership.leading && b.leadership.leading).toBe(false);
  }, 60_000);
});

describe('leadership of the embedded store', () => {
  it('leads at once: one replica, one file', async () => {
    const sql = new SqliteClient(Database.open(mkdtempSync(join(tmpdir(), 'wekube-leader-'))));
    const leadership = new Leadership(sql, { id: 'only', clock: systemClock, logger });
    await leadership.start();
    expect(leadership.leading).toBe(true);
    await leadership.stop();
  });
});
