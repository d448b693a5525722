import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export const ALERTMANAGER_BINARY = process.env.ALERTMANAGER_BINARY ?? '/usr/bin/prometheus-alertmanager';

export interface RunningAlertmanager {
  url: string;
  /** Posts alerts through Alertmanager's own API, as Prometheus does. */
  post(alerts: { labels: Record<string, string>; annotations?: Record<string, string>; startsAt?: string; endsAt?: string }[]): Promise<void>;
  get<T>(path: string): Promise<T>;
  /** Freezes the process (SIGSTOP): requests to it hang until `resume`. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * The real Alertmanager from Debian's prometheus-alertmanager, on loopback, with one route to wekube's webhook:
 * short group timers so tests see changes within seconds, send_resolved on, the bearer token set. `config` replaces
 * that route and receiver with a whole configuration of the caller's.
 */
export async function startAlertmanager(options: { webhookUrl: string; token?: string } | { config: Record<string, unknown> }): Promise<RunningAlertmanager> {
  if (!existsSync(ALERTMANAGER_BINARY)) {
    throw new Error(`${ALERTMANAGER_BINARY} is missing: install Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager; .ci/run does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wekube-am-'));
  const config = 'config' in options ? options.config : {
    route: { receiver: 'wekube', group_by: ['alertname', 'app'], group_wait: '1s', group_interval: '1s', repeat_interval: '4h' },
    receivers: [
      {
        name: 'wekube',
        webhook_configs: [
          {
            url: options.webhookUrl,
            send_resolved: true,
            ...(options.token ? { http_config: { authorization: { type: 'Bearer', credentials: options.token } } } : {}),
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    ALERTMANAGER_BINARY,
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', `--web.external-url=${url}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`);
    try {
      return (await fetch(`${url}/-/ready`)).ok;
    } catch {
      return false;
    }
  }, 20_000, 'alertmanager ready');
  return {
    url,
    async post(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      if (!response.ok) throw new Error(`alertmanager refused the alerts: ${response.status} ${await response.text()}`);
    },
    async get<T>(path: string) {
      return (await (await fetch(`${url}${path}`)).json()) as T;
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
