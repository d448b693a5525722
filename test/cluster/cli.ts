// npm run cluster:up [-- --ha] | cluster:down [-- --ha] | cluster:status
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HA_DIR, startHa } from './ha.js';
import { down, healthy, kubeconfigPath, memory, up, withLock } from './launcher.js';

const command = process.argv[2];
const ha = process.argv.includes('--ha');

const signal = (pid: number, name: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
};

/** The HA topology's processes (by pid) from its pids.json: SIGTERM, ten seconds to go, then SIGKILL. */
async function stopHa(): Promise<void> {
  const file = join(HA_DIR, 'pids.json');
  if (!existsSync(file)) return;
  const pids = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }[]).flatMap(({ pid }) => (pid ? [pid] : []));
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (pids.some((pid) => signal(pid, 0)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pid of pids) signal(pid, 'SIGKILL');
  const shmRoot = join(HA_DIR, 'shm-root');
  if (existsSync(shmRoot)) rmSync(readFileSync(shmRoot, 'utf8'), { recursive: true, force: true });
  process.stderr.write(`[ha] stopped the processes recorded in ${file}\n`);
}

try {
  if (command === 'up' && ha) {
    await stopHa();
    const topology = await startHa();
    const rss = Object.values(topology.memory()).reduce((sum, bytes) => sum + bytes, 0);
    process.stdout.write(
      [
        `KUBECONFIG=${topology.kubeconfigPath}  # VIP ${topology.vip}`,
        `apiservers: ${topology.apiservers.join(' ')}`,
        `etcd: ${topology.etcdEndpoints.join(' ')}`,
        `registries: primary ${topology.registries.primary.url}, replica ${topology.registries.replica.url}`,
        `started in ${(topology.startedInMs / 1000).toFixed(1)}s, ${(rss / 2 ** 20).toFixed(0)} MiB resident; npm run cluster:down -- --ha stops it`,
        '',
      ].join('\n'),
    );
  } else if (command === 'down' && ha) {
    await stopHa();
  } else if (command === 'up') {
    const state = await withLock(up);
    process.stdout.write(`KUBECONFIG=${kubeconfigPath}  # ${state.server}\n`);
  } else if (command === 'down') {
    await withLock(down);
  } else if (command === 'status') {
    const ok = await healthy();
    const rss = Object.entries(memory()).map(([name, bytes]) => `${name} ${(bytes / 2 ** 20).toFixed(0)} MiB`);
    process.stdout.write(ok ? `running; KUBECONFIG=${kubeconfigPath}\n${rss.join('\n')}\n` : 'not running\n');
    process.exitCode = ok ? 0 : 1;
  } else {
    process.stderr.write('usage: cli.ts up [--ha] | down [--ha] | status\n');
    process.exitCode = 2;
  }
} catch (error) {
  process.stderr.write(`[cluster] ${(error as Error).message}\n`);
  process.exitCode = 1;
}
