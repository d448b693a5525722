import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertClaims } from '../../src/alerts/claims.js';
import { Subscriptions } from '../../src/alerts/subscriptions.js';
import { LiveMessages } from '../../src/wecom/aibot.js';
import { Inbox } from '../../src/wecom/inbox.js';
import { DrillRuns } from '../../src/drills/runs.js';
import { AuditLog } from '../../src/chat/audit.js';
import { ChangeLocks } from '../../src/chat/change-locks.js';
import type { PendingChange } from '../../src/chat/changes.js';
import { PendingChanges } from '../../src/chat/pending-changes.js';
import { Database } from '../../src/store/database.js';
import { importLowdbFiles } from '../../src/store/lowdb-import.js';
import { PostgresClient } from '../../src/store/postgres-client.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres-migrations.js';
import type { SqlClient } from '../../src/store/sql.js';
import { SqliteClient } from '../../src/store/sqlite-client.js';
import { ManualClock } from '../helpers/clock.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { stallingRelay } from '../helpers/relay.js';

// The repositories' contract, run against both backends: the embedded SQLite file and a real PostgreSQL server
// (Debian's, started here). What one backend does, the other must do too.

let postgres: RunningPostgres;
const opened: SqlClient[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const client of opened) await client.close();
  await postgres?.stop();
});

interface Opened {
  client: SqlClient;
  /** Another client on the same data: a second replica on PostgreSQL, the same file on SQLite. */
  another(): Promise<SqlClient>;
}

const backends: { name: string; open(): Promise<Opened> }[] = [
  {
    name: 'embedded (SQLite)',
    async open() {
      const client = new SqliteClient(Database.open(mkdtempSync(join(tmpdir(), 'wekube-repo-'))));
      opened.push(client);
      return { client, another: async () => client };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await postgres.database('contract');
      const connect = async () => {
        const client = await PostgresClient.open(url);
        opened.push(client);
        return client;
      };
      return { client: await connect(), another: connect };
    },
  },
];

describe.each(backends)('audit log on $name', (backend) => {
  it('appends entries in order, answers the newest first and by app, environment, result and command', async () => {
    let clock = Date.parse('2026-11-20T08:00:00Z');
    const audit = await AuditLog.open((await backend.open()).client, { now: () => (clock += 1000) });
    const approvals = ['zhaoliu'];
    const first = await audit.record({ user: 'lisi', command: 'scale order 3', environment: 'prod', app: 'order', result: 'ok', before: { replicas: 2 }, after: { replicas: 3 }, approvals });
    approvals.push('wangwu');
    await audit.record({ user: 'lisi', command: 'deploy order 1.2', environment: 'prod', app: 'order', result: 'failed', reason: 'timeout' });
    await audit.record({ user: 'zhangsan', command: 'scale pay 2', environment: 'test', app: 'pay', result: 'refused', reason: 'access.denied', reasonParams: { env: 'test' } });
    const recent = await audit.recent(10);
    expect(recent.map((entry) => entry.command)).toEqual(['scale pay 2', 'deploy order 1.2', 'scale order 3']);
    expect(recent[2]).toEqual({ ...first, approvals: ['zhaoliu'] });
    expect(recent[2]!.at).toBe('2026-11-20T08:00:01.000Z');
    expect(recent[0]!.reasonParams).toEqual({ env: 'test' });
    expect((await audit.recent(10, { app: 'order', environment: 'prod', result: 'ok', commandPrefix: 'scale' })).map((entry) => entry.id)).toEqual([first.id]);
    expect(await audit.recent(10, { app: 'order', commandPrefix: 'SCALE' })).toEqual([]);
    expect(await audit.recent(1)).toHaveLength(1);
  });

  it('stays bounded: the oldest entries beyond the limit go', async () => {
    const audit = await AuditLog.open((await backend.open()).client, { maxEntries: 5 });
    for (let i = 0; i < 12; i++) await audit.record({ user: 'lisi', command: `status app-${i}`, result: 'ok' });
    expect((await audit.recent(100)).map((entry) => entry.command)).toEqual([11, 10, 9, 8, 7].map((i) => `status app-${i}`));
  });

  it('loses no entry when appends race (two replicas on PostgreSQL, two callers on SQLite)', async () => {
    const { client, another } = await backend.open();
    const [one, two] = [await AuditLog.open(client), await AuditLog.open(await another())];
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? one : two).record({ user: 'lisi', command: `status race-${i}`, result: 'ok' })));
    const commands = (await two.recent(1000)).map((entry) => entry.command).filter((command) => command.startsWith('status race-'));
    expect(new Set(commands).size).toBe(100);
  });
});

describe.each(backends)('subscriptions on $name', (backend) => {
  it('keeps one subscription per user and matchers, removes by id or all, and another replica sees them after a refresh', async () => {
    const { client, another } = await backend.open();
    const mine = await Subscriptions.open(client);
    const now = new Date('2026-11-20T08:00:00Z');
    const first = await mine.add('lisi', 'app=order severity="critical"', now);
    expect(first.existed).toBe(false);
    expect(first.subscription).toMatchObject({ user: 'lisi', text: 'app=order severity="critical"', createdAt: now.toISOString() });
    // The same matchers again: the one that exists.
    const again = await mine.add('lisi', 'app=order severity="critical"', now);
    expect(again).toEqual({ subscription: first.subscription, existed: true });
    const second = await mine.add('lisi', 'app=pay', now);
    await mine.add('zhangsan', 'app=pay', now);
    expect(mine.of('lisi').map((item) => item.id)).toEqual([first.subscription.id, second.subscription.id]);
    const replica = await Subscriptions.open(await another());
    expect(replica.all.map((item) => item.user)).toEqual(['lisi', 'lisi', 'zhangsan']);
    expect(await mine.remove('lisi', second.subscription.id)).toBe(1);
    expect(await mine.remove('lisi', second.subscription.id)).toBe(0);
    expect(await mine.remove('zhangsan', 'all')).toBe(1);
    await replica.current();
    expect(replica.all.map((item) => item.id)).toEqual([first.subscription.id]);
    // A removal and an addition that leave the count as it was still show.
    await mine.remove('lisi', 'all');
    const later = await mine.add('wangwu', 'app=cart', now);
    await replica.current();
    expect(replica.all.map((item) => item.id)).toEqual([later.subscription.id]);
  });
});

describe.each(backends)('pending changes on $name', (backend) => {
  const change = (code: string, app: string, deadline: number) =>
    ({ code, command: 'deploy', args: { app, tag: '1.2' }, text: `deploy ${app} 1.2 @prod`, environment: 'prod', app, requester: 'lisi', createdAt: 0, deadline, state: 'confirm', approvalsNeeded: 1, approvals: [], summary: 'deploy', preview: [] }) as PendingChange;

  it('holds one change per code and per app, saves only over the version it read, and removes each once', async () => {
    const { client, another } = await backend.open();
    const mine = new PendingChanges(client);
    const replica = new PendingChanges(await another());
    expect(await mine.create(change('1234', 'order', 5000))).toBe('created');
    expect(await replica.create(change('1234', 'pay', 5000))).toBe('code-taken');
    expect(await replica.create(change('5678', 'order', 5000))).toBe('app-taken');
    // Two approvers read the same version: the first save wins, the second must read again.
    const [a, b] = [(await mine.byCode('1234'))!, (await replica.byCode('1234'))!];
    a.approvals.push('zhaoliu');
    b.approvals.push('wangwu');
    expect(await mine.save(a)).toBe(true);
    expect(await replica.save(b)).toBe(false);
    const fresh = (await replica.byCode('1234'))!;
    expect(fresh.approvals).toEqual(['zhaoliu']);
    fresh.approvals.push('wangwu');
    expect(await replica.save(fresh)).toBe(true);
    expect((await mine.forApp('prod', 'order'))!.approvals).toEqual(['zhaoliu', 'wangwu']);
    expect(await mine.remove('1234')).toBe(true);
    expect(await replica.remove('1234')).toBe(false);
    expect(await mine.byCode('1234')).toBeUndefined();
  });

  it('expires what is past its deadline, once', async () => {
    const { client, another } = await backend.open();
    const mine = new PendingChanges(client);
    await mine.create(change('1111', 'order', 1000));
    await mine.create(change('2222', 'pay', 9000));
    const [first, second] = await Promise.all([mine.expire(5000), new PendingChanges(await another()).expire(5000)]);
    expect([...first, ...second].map((expired) => expired.code)).toEqual(['1111']);
    expect((await mine.byCode('2222'))?.app).toBe('pay');
  });
});

describe.each(backends)('change locks on $name', (backend) => {
  it('lets one change per app and environment run across replicas, frees the app when it ends, and expires a lock nobody renews', async () => {
    const { client, another } = await backend.open();
    const clock = new ManualClock(Date.now());
    const mine = new ChangeLocks(client, { clock });
    const replica = new ChangeLocks(await another(), { clock, ttlMs: 400 });
    const deploy = { user: 'zhangsan', text: 'deploy order-service 1.4.2', since: 1_000 };
    const first = await mine.acquire('prod', 'order-service', deploy);
    expect(first.held).toBe(true);
    expect(await replica.acquire('prod', 'order-service', { user: 'lisi', text: 'restart order-service', since: 2_000 })).toEqual({ held: false, busy: deploy });
    expect((await replica.acquire('staging', 'order-service', { ...deploy, user: 'lisi' })).held).toBe(true);
    if (first.held) await first.release();
    expect(await mine.holder('prod', 'order-service')).toBeUndefined();
    // The replica's lock of staging is never renewed (its clock does not move): it frees itself after its 400 ms.
    expect((await mine.acquire('staging', 'order-service', deploy)).held).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await mine.acquire('staging', 'order-service', deploy)).held).toBe(true);
  });

  it('keeps the lock of a change that runs longer than the lock\'s time to live', async () => {
    const { client, another } = await backend.open();
    const clock = new ManualClock(Date.now());
    const running = await new ChangeLocks(client, { clock, ttlMs: 400 }).acquire('prod', 'pay', { user: 'zhangsan', text: 'deploy pay 2.0', since: 1 });
    for (let i = 0; i < 4; i++) {
      await clock.advance(100); // the renewal is due every quarter of the time to live
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await new ChangeLocks(await another(), { clock }).holder('prod', 'pay')).toMatchObject({ user: 'zhangsan' });
    if (running.held) await running.release();
  });

  it('starts no change outside the leader\'s term', async () => {
    const { client } = await backend.open();
    const deposed = new ChangeLocks(client, { clock: new ManualClock(Date.now()), fence: () => ({ sql: '1 = 0', params: [] }) });
    expect(await deposed.acquire('prod', 'cart', { user: 'zhangsan', text: 'restart cart', since: 1 })).toEqual({ held: false, busy: undefined });
  });
});

describe.each(backends)('inbox on $name', (backend) => {
  it('accepts a key once across replicas, and tells a restart what to run and what was cut off', async () => {
    const { client, another } = await backend.open();
    const message = (key: string) => ({ from: 'lisi', createTime: 1, msgType: 'text', content: `status ${key}`, dedupKey: key });
    const mine = await Inbox.open(client, { retentionMs: 60_000 });
    const replica = await Inbox.open(await another(), { retentionMs: 60_000 });
    const accepted = await Promise.all([mine.accept(message('msg:1')), replica.accept(message('msg:1'))]);
    expect(accepted.sort()).toEqual(['duplicate', 'new']);
    await replica.accept(message('msg:2'));
    await replica.accept(message('msg:3'));
    await mine.started('msg:2');
    await client.batch(mine.doneMark('msg:3'));
    const { toRun, interrupted } = await replica.unfinished();
    expect(toRun.map((m) => m.dedupKey)).toEqual(['msg:1']);
    expect(interrupted.map((m) => m.content)).toEqual(['status msg:2']);
    expect(await mine.accept(message('msg:3'))).toBe('duplicate');
    // The leader's poll: the oldest received, without those already running here, never more than asked.
    for (const key of ['msg:4', 'msg:5', 'msg:6']) await mine.accept(message(key));
    expect((await replica.received(3, (key) => key === 'msg:1')).map((m) => m.dedupKey)).toEqual(['msg:4', 'msg:5']);
  });

  it('keeps within its cap by forgetting old done keys only: never a message not yet run, never a key a replay could still use', async () => {
    const { client } = await backend.open();
    let now = 1_000_000;
    const message = (key: string) => ({ from: 'lisi', createTime: 1, msgType: 'text', content: `status ${key}`, dedupKey: key });
    const inbox = await Inbox.open(client, { retentionMs: 3_600_000, replayWindowMs: 300_000, maxEntries: 4, now: () => now });
    // A flood: eight acknowledged and not yet run, more than the cap.
    for (let i = 1; i <= 8; i++) {
      await inbox.accept(message(`cap:${i}`));
      now += 1_000;
    }
    await inbox.prune();
    expect((await inbox.unfinished()).toRun.map((m) => m.dedupKey)).toEqual(['cap:1', 'cap:2', 'cap:3', 'cap:4', 'cap:5', 'cap:6', 'cap:7', 'cap:8']);
    // All run: still inside the replay window, so every key stays and a repeat is refused.
    for (let i = 1; i <= 8; i++) await inbox.done(`cap:${i}`);
    await inbox.prune();
    expect(await inbox.accept(message('cap:1'))).toBe('duplicate');
    // Past the window the oldest go, down to the cap; an unfinished message newer than them stays.
    now += 300_000;
    await inbox.accept(message('cap:9'));
    await inbox.prune();
    expect(await inbox.size()).toBe(5);
    expect((await inbox.unfinished()).toRun.map((m) => m.dedupKey)).toEqual(['cap:9']);
    expect(await inbox.accept(message('cap:8'))).toBe('duplicate');
  });
});

describe.each(backends)('writes on $name', (backend) => {
  it('commits writes asked for together each on its own: one that fails is refused alone', async () => {
    const { client } = await backend.open();
    const inbox = await Inbox.open(client, { retentionMs: 60_000 });
    const row = (key: string) => ({ sql: "INSERT INTO inbox (key, at, state, message) VALUES (?, 1, 'received', '{}')", params: [key] });
    await client.batch([row('w:0')]);
    const writes = Array.from({ length: 20 }, (_, i) => client.batch(i === 7 ? [row(`w:${i + 1}`), row('w:0')] : i === 12 ? [row('w:0')] : [row(`w:${i + 1}`)]));
    const read = client.get<{ n: number }>("SELECT count(*) AS n FROM inbox WHERE key LIKE 'w:%'");
    const settled = await Promise.allSettled(writes);
    expect(settled.map((outcome) => outcome.status).filter((status) => status === 'rejected')).toHaveLength(2);
    expect(settled[7]!.status).toBe('rejected');
    expect(settled[12]!.status).toBe('rejected');
    // 1 + 18: the failed batch of two left neither of its rows.
    expect(Number((await client.get<{ n: number }>("SELECT count(*) AS n FROM inbox WHERE key LIKE 'w:%'"))!.n)).toBe(19);
    // One connection keeps the order asked for; PostgreSQL's pool runs them side by side (await a write to read it).
    if (client.dialect === 'sqlite') expect(Number((await read)!.n)).toBe(19);
    expect(await inbox.size()).toBe(19);
  });
});

describe.each(backends)('alert claims on $name', (backend) => {
  it('holds one claim per group, replaced by a newer one, removed on unclaim', async () => {
    const { client, another } = await backend.open();
    const claims = new AlertClaims(client);
    const claim = { groupId: 'a3f2c1', alertname: 'EtcdNoLeader', app: 'etcd', claimedBy: 'zhaoliu', claimedAt: 2_000, since: 1_000 };
    await claims.put(claim);
    await new AlertClaims(await another()).put({ ...claim, claimedBy: 'lisi', claimedAt: 3_000 });
    expect(await claims.get('a3f2c1')).toEqual({ ...claim, claimedBy: 'lisi', claimedAt: 3_000 });
    expect([...(await claims.all()).keys()]).toEqual(['a3f2c1']);
    await claims.remove('a3f2c1');
    expect(await claims.get('a3f2c1')).toBeUndefined();
  });
});

describe.each(backends)('AI bot live messages on $name', (backend) => {
  it('opens one per message, keeps what it shows with the writes that go with it, and marks its response_url used', async () => {
    const { client, another } = await backend.open();
    let now = 1_000_000;
    const streams = new LiveMessages(client, () => now);
    const opened = await streams.open('msg-1', '', 'https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=x');
    expect(await streams.open('msg-1', 'again')).toEqual(opened);
    expect(streams.polled(opened)).toBe(true);
    await client.run('CREATE TABLE marks (k TEXT PRIMARY KEY)');
    await streams.set(opened, 'started', false);
    await streams.set(opened, 'started\n\ndone', true, [{ sql: "INSERT INTO marks VALUES ('done')" }]);
    const replica = new LiveMessages(await another(), () => now);
    const seen = (await replica.get(opened.id))!;
    expect(seen).toMatchObject({ msgId: 'msg-1', content: 'started\n\ndone', finished: true, responded: false });
    expect(await client.get('SELECT k FROM marks')).toEqual({ k: 'done' });
    expect(replica.polled(seen)).toBe(false);
    now += 30 * 60_000;
    expect(replica.answerable(seen)).toBe(true);
    await replica.markResponded(seen);
    expect(streams.answerable((await streams.forMessage('msg-1'))!)).toBe(false);
  });
});

describe.each(backends)('drill runs on $name', (backend) => {
  it('holds one active run per environment across replicas, and finds runs and schedules back', async () => {
    const { client, another } = await backend.open();
    const run = (environment: string) => ({ drill: 'etcd-member-loss', title: 'etcd', environment, status: 'running' as const, startedBy: 'lisi', startedAt: 1_000, params: {}, vars: {}, current: 0, steps: [], checks: {}, participants: ['lisi'], faults: [], guardApps: [] });
    const mine = new DrillRuns(client);
    const replica = new DrillRuns(await another());
    const [a, b] = await Promise.all([mine.create(run('prod')), replica.create(run('prod'))]);
    const created = (a ?? b)!;
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await replica.create(run('test'))).toBeDefined();
    created.status = 'passed';
    created.endedAt = 2_000;
    await mine.save(created);
    expect((await replica.get(created.id))?.status).toBe('passed');
    expect((await replica.active()).map((active) => active.environment)).toEqual(['test']);
    expect(await mine.create(run('prod'))).toBeDefined();
    expect((await mine.recent(10, 'etcd-member-loss')).map((found) => found.environment)).toEqual(['prod', 'test', 'prod']);
    expect(await mine.startedSince('etcd-member-loss', 'prod', 500)).toBe(true);
    expect(await mine.startedSince('etcd-member-loss', 'prod', 5_000)).toBe(false);
    await mine.saveSchedule('weekly@prod', { firedMinute: '2026-11-26T02:00:00.000Z', dueAt: 9_000, reminded: false });
    await replica.saveSchedule('weekly@prod', { firedMinute: '2026-11-26T02:00:00.000Z', dueAt: 9_000, reminded: true });
    expect(await mine.schedule('weekly@prod')).toEqual({ firedMinute: '2026-11-26T02:00:00.000Z', dueAt: 9_000, reminded: true });
    // A deposed leader's late writes fail and change nothing.
    const deposed = new DrillRuns(client, () => ({ sql: '1 = 0', params: [] }));
    await expect(deposed.create(run('staging'))).rejects.toThrow('error.notLeader');
    await expect(deposed.save({ ...created, status: 'aborted' })).rejects.toThrow('error.notLeader');
    await expect(deposed.saveSchedule('weekly@prod', { firedMinute: 'x', dueAt: 1, reminded: false })).rejects.toThrow('error.notLeader');
    expect((await mine.get(created.id))?.status).toBe('passed');
    expect((await mine.active()).map((active) => active.environment).sort()).toEqual(['prod', 'test']);
    expect((await mine.schedule('weekly@prod'))?.reminded).toBe(true);
  });
});

describe('PostgreSQL schema', () => {
  it('migrates once when replicas start together', async () => {
    const url = await postgres.database('migrate');
    const clients = await Promise.all(Array.from({ length: 4 }, () => PostgresClient.open(url)));
    opened.push(...clients);
    expect(await clients[0]!.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema'")).toEqual({ value: String(POSTGRES_MIGRATIONS.length) });
  });

  it('refuses a database a newer wekube has migrated, naming both versions, and leaves it as it was', async () => {
    const url = await postgres.database('newer');
    const newer = await PostgresClient.open(url);
    opened.push(newer);
    await newer.run("UPDATE meta SET value = '999' WHERE key = 'schema'");
    await expect(PostgresClient.open(url)).rejects.toThrow(`the database's schema version 999 is newer than this wekube knows (${POSTGRES_MIGRATIONS.length})`);
    expect(await newer.get("SELECT value FROM meta WHERE key = 'schema'")).toEqual({ value: '999' });
  });
});

describe('PostgreSQL connections', () => {
  it('fails a statement the database never answers, and works again once the database answers on new connections', async () => {
    const relay = await stallingRelay(await postgres.database('hung'));
    const client = await PostgresClient.open(relay.url, { queryTimeoutMs: 1_000 });
    opened.push(client);
    try {
      // Traffic has opened all the pool's connections.
      await Promise.all(Array.from({ length: 10 }, () => client.get('SELECT pg_sleep(0.2)')));
      // The database's host is gone: nothing comes back, nothing is refused. Statements under way take every connection.
      relay.stall();
      const hung = Array.from({ length: 10 }, (_, i) => (i % 2 ? client.run('SELECT 1') : client.batch([{ sql: 'SELECT 1' }])).then(() => 'answered', (error: Error) => error.message));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The database is back at the same address, as after a failover; the old connections still lead nowhere.
      relay.stall(false);
      const back = Date.now();
      expect(await Promise.all(hung)).toEqual(Array(10).fill(expect.stringMatching(/timeout/i)));
      expect(await client.get('SELECT 1 AS one')).toEqual({ one: 1 });
      // The query timeout, then one at most for the rollback, and a new connection, with slack for a busy machine:
      // seconds, where before the fix the statements never ended.
      expect(Date.now() - back).toBeLessThan(1_000 + 1_000 + 2_000);
    } finally {
      relay.close();
    }
  }, 30_000);
});

describe('moving from lowdb', () => {
  it('imports the audit log of an older wekube once, in order, and keeps the file renamed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wekube-import-'));
    const entries = Array.from({ length: 1200 }, (_, i) => ({ id: i + 1, at: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(), user: 'lisi', command: `status app-${i}`, result: 'ok' }));
    writeFileSync(join(dir, 'audit.json'), JSON.stringify({ seq: 1200, entries }));
    const client = new SqliteClient(Database.open(dir));
    opened.push(client);
    expect(await importLowdbFiles(dir, client)).toEqual({ audit: 1200, subscriptions: 0, changes: 0 });
    expect(existsSync(join(dir, 'audit.json'))).toBe(false);
    expect(existsSync(join(dir, 'audit.json.imported'))).toBe(true);
    const audit = await AuditLog.open(client);
    const recent = await audit.recent(2);
    expect(recent.map((entry) => [entry.command, entry.at])).toEqual([
      ['status app-1199', entries[1199]!.at],
      ['status app-1198', entries[1198]!.at],
    ]);
    expect(await importLowdbFiles(dir, client)).toEqual({ audit: 0, subscriptions: 0, changes: 0 });
  });
});
