import { afterAll, describe, expect, it } from 'vitest';
import { CallbackSender } from '../fakes/callback-sender.js';
import { FakeWecom } from '../fakes/wecom-server.js';
import { WECOM, writeConfig } from '../helpers/bot.js';
import { startWekubeProcess } from '../helpers/process.js';
import { seededRandom } from '../helpers/random.js';
import { waitFor } from '../helpers/wait.js';

// kill -9 at random moments, many times, while alerts storm in and while replies are queued. What was
// acknowledged (a webhook's 200, a callback's empty 200) must come out once: never lost, never doubled.
// FAULT_KILLS sets how many kills each drill makes (CI's default is kept small; a local soak can raise it).

const KILLS = Number(process.env.FAULT_KILLS ?? 5);
const random = seededRandom(Number(process.env.FAULT_SEED ?? 8));

type Running = Awaited<ReturnType<typeof startWekubeProcess>>;
let running: Running | undefined;
const fakes: FakeWecom[] = [];
afterAll(async () => {
  running?.child.kill('SIGKILL');
  for (const fake of fakes) await fake.stop();
});

async function kill(process: Running): Promise<void> {
  process.child.kill('SIGKILL');
  if (process.child.exitCode === null && process.child.signalCode === null) await new Promise((resolve) => process.child.once('exit', resolve));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kill -9 at random moments', () => {
  it(`loses and doubles no acknowledged alert over ${KILLS} kills during a storm`, async () => {
    const users = ['u1', 'u2', 'u3'];
    const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users, latencyMs: 20 });
    fakes.push(fake);
    await fake.start();
    const { file } = writeConfig({
      apiBase: fake.url,
      extra: { alerts: { digestWindow: '3s', routes: users.map((user) => ({ match: `team="${user}"`, to: { user } })) } },
    });

    let next = 0;
    const alert = () => {
      const n = next++;
      const team = users[n % users.length]!;
      return { status: 'firing', labels: { alertname: `Storm${n % 7}`, app: `app-${n % 5}`, team, severity: 'warning', instance: `i-${n}` }, annotations: {}, startsAt: '2026-11-24T10:00:00Z', fingerprint: `fp-${n}` };
    };
    /** Webhooks not yet answered 200: Alertmanager sends them again. */
    const unacknowledged: string[] = [];
    let acknowledged = 0;
    const send = async (url: string, body: string, size: number) => {
      try {
        const response = await fetch(`${url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (response.status === 200) {
          acknowledged += size;
          return;
        }
      } catch {
        // the process died under the request
      }
      unacknowledged.push(body);
    };
    const webhook = (size: number) => JSON.stringify({ version: '4', status: 'firing', receiver: 'wekube', groupKey: `g${next}`, externalURL: 'http://am', alerts: Array.from({ length: size }, alert) });

    for (let round = 0; round <= KILLS; round++) {
      running = await startWekubeProcess(file);
      const { url } = running;
      const retries = unacknowledged.splice(0);
      const until = Date.now() + 300 + random() * 1200;
      const storm = (async () => {
        for (const body of retries) await send(url, body, (JSON.parse(body) as { alerts: unknown[] }).alerts.length);
        while (Date.now() < until) await Promise.all(Array.from({ length: 4 }, () => send(url, webhook(25), 25)));
      })();
      if (round < KILLS) {
        await pause(until - Date.now());
        await kill(running);
        await storm;
      } else {
        await storm;
      }
    }
    expect(unacknowledged).toEqual([]);
    const total = next;
    expect(acknowledged).toBeGreaterThanOrEqual(total);

    const announced = () =>
      fake.deliveries.filter((d) => d.shown).reduce((sum, d) => sum + Number(/告警摘要：(\d+) 条触发/.exec(d.content)?.[1] ?? 0), 0);
    await waitFor(() => announced() >= total, 60_000);
    await pause(4_000);
    expect(announced()).toBe(total);
    expect(fake.deliveries.filter((d) => d.dropped === 'rate-limit')).toEqual([]);
    console.info(`storm drill: ${total} alerts acknowledged over ${KILLS} kills, ${announced()} announced (0 lost, 0 doubled)`);
    await running!.stop();
  }, 180_000);

  it(`answers every acknowledged chat message exactly once over ${KILLS} kills during reply bursts`, async () => {
    const users = ['c1', 'c2', 'c3', 'c4'];
    const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users, latencyMs: 60 });
    fakes.push(fake);
    await fake.start();
    const { file } = writeConfig({ apiBase: fake.url });
    const acknowledged: { user: string; text: string }[] = [];
    let sent = 0;

    for (let round = 0; round <= KILLS; round++) {
      running = await startWekubeProcess(file);
      const sender = new CallbackSender({ url: running.url, ...WECOM, timeoutMs: 2_000, retries: 0 });
      const burst = users.flatMap((user) => Array.from({ length: 3 }, () => ({ user, text: `burst-${user}-${sent++}` })));
      const delivering = Promise.all(
        burst.map(async (item) => {
          try {
            if ((await sender.deliver(sender.text(item.user, item.text), false)).status === 200) acknowledged.push(item);
          } catch {
            // killed under the request: not acknowledged, so WeCom would retry; nothing is owed
          }
        }),
      );
      if (round < KILLS) {
        await pause(50 + random() * 400);
        await kill(running);
        await delivering;
      } else {
        await delivering;
      }
    }

    const answered = (text: string) => fake.deliveries.filter((d) => d.shown && d.content.includes(`“${text}”`)).length;
    await waitFor(() => acknowledged.every((item) => answered(item.text) >= 1), 90_000);
    await pause(1_500);
    // Each acknowledged message got exactly one answer: its reply, or (if cut off mid-run) a notice that it was.
    for (const item of acknowledged) expect(answered(item.text), item.text).toBe(1);
    expect(fake.deliveries.filter((d) => d.dropped === 'rate-limit')).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    console.info(`reply drill: ${acknowledged.length} of ${sent} messages acknowledged over ${KILLS} kills, each answered once`);
    await running!.stop();
  }, 180_000);
});
