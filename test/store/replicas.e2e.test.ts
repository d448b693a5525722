import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackSender } from '../fakes/callback-sender.js';
import { FakeWecom } from '../fakes/wecom-server.js';
import { WECOM, writeConfig } from '../helpers/bot.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startWekubeProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

// Two wekube processes on one real PostgreSQL: both take callbacks and webhooks, one leader runs the messages and
// sends; kill -9 the leader and the other takes over; nothing acknowledged is lost or doubled.

type Running = Awaited<ReturnType<typeof startWekubeProcess>>;
let postgres: RunningPostgres;
let fake: FakeWecom;
const processes: Running[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: ['lisi', 'zhangsan'] });
  await fake.start();
}, 60_000);

afterAll(async () => {
  for (const running of processes) running.child.kill('SIGKILL');
  await fake?.stop();
  await postgres?.stop();
});

const role = async (running: Running) => ((await (await fetch(`${running.url}/readyz`)).json()) as { checks: { leader: { detail: string } } }).checks.leader.detail;

const webhook = (fingerprint: string, team: string) =>
  JSON.stringify({ version: '4', groupKey: fingerprint, status: 'firing', receiver: 'wekube', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts: [{ status: 'firing', labels: { alertname: `Alert-${fingerprint}`, team, severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), generatorURL: '', fingerprint }] });

const fired = (to: string) => fake.shown(to).reduce((sum, delivery) => sum + Number(/(\d+) 条触发/.exec(delivery.content)?.[1] ?? 0), 0);

describe('two replicas on PostgreSQL', () => {
  it('share the work with one leader, and the standby takes over within seconds when the leader is killed', { timeout: 120_000 }, async () => {
    const url = await postgres.database('replicas');
    const configs = [0, 1].map(() => writeConfig({ apiBase: fake.url, extra: { store: { postgres: { url } }, alerts: { digestWindow: '1s', routes: [{ match: 'team="ops"', to: { user: 'lisi' } }] } } }).file);
    const a = await startWekubeProcess(configs[0]!, 'source');
    processes.push(a);
    const b = await startWekubeProcess(configs[1]!, 'source');
    processes.push(b);
    await waitFor(async () => [await role(a), await role(b)].filter((detail) => detail.startsWith('leading')).length === 1, 15_000, 'one leader');
    const [leader, standby] = (await role(a)).startsWith('leading') ? [a, b] : [b, a];
    expect(await role(standby)).toBe('standby');

    // Both replicas answer ready and take webhooks and callbacks; the leader runs and sends them, once.
    for (const running of [leader, standby]) expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    let acked = 0;
    for (let i = 0; i < 20; i++) {
      const target = i % 2 ? leader : standby;
      const response = await fetch(`${target.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook(`before-${i}`, 'ops') });
      if (response.status === 200) acked++;
    }
    const callbacks = new CallbackSender({ url: standby.url, ...WECOM });
    expect((await callbacks.deliver(callbacks.text('zhangsan', 'whoami'))).status).toBe(200);
    await waitFor(() => fake.shown('user:zhangsan').some((delivery) => /^\*\*我是谁\*\*/.test(delivery.content)), 10_000, 'the standby-accepted callback is answered');
    await waitFor(() => fired('user:lisi') >= acked, 15_000, 'every alert in a digest');
    // A subscription the leader took (accepted by the standby) routes an alert the standby takes.
    expect((await callbacks.deliver(callbacks.text('zhangsan', 'subscribe team=dev'))).status).toBe(200);
    await waitFor(() => fake.shown('user:zhangsan').some((delivery) => /已订阅/.test(delivery.content)), 10_000, 'the subscription is confirmed');
    expect((await fetch(`${standby.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook('dev-1', 'dev') })).status).toBe(200);
    await waitFor(() => fired('user:zhangsan') === 1, 15_000, 'the standby routed the alert to the new subscriber');

    // kill -9 the leader: the standby takes over within the lease, and takes everything on.
    leader.child.kill('SIGKILL');
    const killed = Date.now();
    await waitFor(async () => (await role(standby)).startsWith('leading'), 20_000, 'the standby leads');
    const takeover = Date.now() - killed;
    console.log(`takeover after kill -9: ${takeover} ms`);
    expect(takeover).toBeLessThan(10_000);
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${standby.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook(`after-${i}`, 'ops') });
      if (response.status === 200) acked++;
    }
    expect((await callbacks.deliver(callbacks.text('zhangsan', 'help'))).status).toBe(200);
    await waitFor(() => fired('user:lisi') >= acked, 20_000, 'every alert after the takeover in a digest');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(fired('user:lisi')).toBe(acked);
    expect(fake.shown('user:zhangsan').filter((delivery) => /^\*\*我是谁\*\*/.test(delivery.content))).toHaveLength(1);
    await waitFor(() => fake.shown('user:zhangsan').some((delivery) => /wekube 命令/.test(delivery.content)), 10_000, 'help answered by the new leader');
  });
});
