// Whether per-event cost stays independent of stored state. One wekube process (built) against the fake WeCom is
// filled with alerts level by level (0, 20k, 100k, 300k by default, through real webhooks); at each level it takes
// webhooks of 100 new alerts, 4 in flight, while /healthz is asked every 20 ms (its slowest answer is the longest
// event-loop stall), then sits idle for a while (its CPU share), then is asked `alerts` in the chat (every alert
// stored fires). Then the inbox's growth: callbacks per second after
// 5k and after 40k handled callbacks, 8 in flight.
// With --backend postgres the state lives in a PostgreSQL server (Debian's) the benchmark starts.
// Run: npm run bench -- state-growth [--backend embedded|postgres] [--levels 0,20000,100000,300000] [--sample 5000] [--idle 10] [--callbacks 5000,40000]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CallbackSender } from '../test/fakes/callback-sender.js';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { USERS, WECOM, writeConfig } from '../test/helpers/bot.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { memoryMiB, startWekubeProcess } from '../test/helpers/process.js';
import { percentile, report } from './report.js';

/** Alerts as a real estate produces them: 50 alertnames over 40 apps, each with its own fingerprint. */
function alerts(from: number, count: number) {
  const startsAt = new Date().toISOString();
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      status: 'firing' as const,
      labels: { alertname: `Alert${i % 50}`, app: `app-${Math.floor(i / 13) % 40}`, severity: i % 50 === 0 ? 'critical' : 'warning', instance: `10.${Math.floor(i / 62500) % 250}.${Math.floor(i / 250) % 250}.${i % 250}:9100` },
      annotations: { summary: `alert ${i}: something is wrong on instance ${i}` },
      startsAt,
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: `g${i.toString(16).padStart(10, '0')}`,
    };
  });
}

const body = (list: ReturnType<typeof alerts>) =>
  JSON.stringify({ version: '4', groupKey: `growth/${list[0]!.fingerprint}`, status: 'firing', receiver: 'wekube', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts: list });

/** Runs `work` over `items` with `inFlight` at a time; returns each one's latency in ms. */
async function pool<T>(items: T[], inFlight: number, work: (item: T) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const t0 = performance.now();
        await work(item);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return latencies;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Who asks `alerts` at each level (the default viewer role may; the route sends nothing to them). */
const ASKER = 'wangwu';

/** Asks /healthz every 20 ms until stopped; the slowest answer is the longest event-loop stall meanwhile. */
function probeHealthz(url: string): { stop(): Promise<number> } {
  let longest = 0;
  let probing = true;
  const running = (async () => {
    while (probing) {
      const t0 = performance.now();
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      longest = Math.max(longest, performance.now() - t0);
      await sleep(20);
    }
  })();
  return {
    async stop() {
      probing = false;
      await running;
      return longest;
    },
  };
}

/** The database's size on disk. */
async function databaseBytes(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size')).rows[0]!.size);
  } finally {
    await client.end();
  }
}

/** CPU seconds the process has used (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { backend: { type: 'string', default: 'embedded' }, levels: { type: 'string', default: '0,20000,100000,300000' }, sample: { type: 'string', default: '5000' }, idle: { type: 'string', default: '10' }, callbacks: { type: 'string', default: '5000,40000' } },
  });
  const levels = values.levels.split(',').map(Number);
  const sample = Number(values.sample);
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: USERS });
  await fake.start();
  // One user hears of one app: routing, batching and digests run, without WeCom's limits deciding the figures.
  const postgres = values.backend === 'postgres' ? await startPostgres() : undefined;
  const store = postgres ? { store: { postgres: { url: postgres.url } } } : {};
  const { file, dataDir } = writeConfig({ apiBase: fake.url, extra: { ...store, alerts: { digestWindow: '10s', immediateSeverities: ['critical'], routes: [{ match: 'app="app-3"', to: { user: 'lisi' } }] } } });
  const wekube = await startWekubeProcess(file, 'built');
  const { url, child } = wekube;
  const pid = child.pid!;
  const post = async (payload: string) => {
    const response = await fetch(`${url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
  };

  const sender = new CallbackSender({ url, ...WECOM });
  const rows: string[][] = [];
  let stored = 0;
  for (const level of levels) {
    // Fill up to the level in big webhooks (not measured).
    const fill: string[] = [];
    for (let i = stored; i < level; i += 1000) fill.push(body(alerts(i, Math.min(1000, level - i))));
    await pool(fill, 4, post);
    stored = Math.max(stored, level);
    const webhooks: string[] = [];
    for (let i = 0; i < sample; i += 100) webhooks.push(body(alerts(stored + i, 100)));
    let probe = probeHealthz(url);
    const started = performance.now();
    const latencies = await pool(webhooks, 4, post);
    const seconds = (performance.now() - started) / 1000;
    const longest = await probe.stop();
    stored += sample;
    const cpu0 = cpuSeconds(pid);
    await sleep(Number(values.idle) * 1000);
    const idle = (cpuSeconds(pid) - cpu0) / Number(values.idle);
    // Someone asks what fires now: the time until the answer reaches WeCom, and the longest stall meanwhile.
    const asked = fake.deliveries.length;
    probe = probeHealthz(url);
    const askedAt = performance.now();
    const answer = await sender.deliver(sender.text(ASKER, 'alerts'));
    if (answer.status !== 200) throw new Error(`the alerts command's callback answered ${answer.status}`);
    while (!fake.deliveries.slice(asked).some((delivery) => delivery.to === `user:${ASKER}` && delivery.content.includes('正在触发的告警'))) await sleep(5);
    const alertsMs = performance.now() - askedAt;
    const alertsStall = await probe.stop();
    const du = postgres ? (await databaseBytes(postgres.url)) / 2 ** 20 : Number(execFileSync('du', ['-sk', dataDir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
    rows.push([String(level), percentile(latencies, 50).toFixed(0), percentile(latencies, 99).toFixed(0), (sample / seconds).toFixed(0), longest.toFixed(0), `${(idle * 100).toFixed(1)}%`, memoryMiB(pid, 'VmRSS').toFixed(0), du.toFixed(0), alertsMs.toFixed(0), alertsStall.toFixed(0)]);
    process.stdout.write(`  level ${level}: ${rows.at(-1)!.join(' | ')}\n`);
  }

  // The inbox: callbacks per second as handled callbacks accumulate.
  const callbackRows: string[][] = [];
  let handled = 0;
  for (const mark of values.callbacks.split(',').map(Number)) {
    const filler = Array.from({ length: Math.max(0, mark - handled - 1000) }, (_, i) => sender.text(USERS[i % USERS.length]!, 'whoami'));
    await pool(filler, 8, async (callback) => void (await sender.deliver(callback)));
    handled += filler.length;
    const measured = Array.from({ length: 1000 }, (_, i) => sender.text(USERS[i % USERS.length]!, 'whoami'));
    const started = performance.now();
    const latencies = await pool(measured, 8, async (callback) => {
      const answer = await sender.deliver(callback);
      if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
    });
    handled += measured.length;
    callbackRows.push([String(handled), (measured.length / ((performance.now() - started) / 1000)).toFixed(0), percentile(latencies, 50).toFixed(1), percentile(latencies, 99).toFixed(1)]);
  }
  await wekube.stop();
  await fake.stop();
  await postgres?.stop();

  const table = (header: string[], body: string[][]) => {
    const widths = header.map((cell, i) => Math.max(cell.length, ...body.map((row) => row[i]!.length)));
    return [header, ...body].map((row) => row.map((cell, i) => cell.padStart(widths[i]!)).join(' | ')).join('\n    ');
  };
  const figures = {
    'per level': `\n    ${table(['alerts stored', 'webhook p50 ms', 'p99 ms', 'alerts/s', 'longest /healthz ms', 'idle CPU', 'RSS MiB', postgres ? 'database MiB' : 'data dir MiB', '`alerts` answer ms', 'its longest /healthz ms'], rows)}`,
    'inbox growth (8 in flight)': `\n    ${table(['callbacks handled', 'callbacks/s', 'p50 ms', 'p99 ms'], callbackRows)}`,
  };
  report(`state growth (${values.backend}): webhooks of 100 new alerts, 4 in flight, at each level of stored alerts (wekube process, fake WeCom)`, figures, { name: `state-growth-${values.backend}`, rows, callbackRows });
}
