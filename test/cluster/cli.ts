// npm run cluster:up [-- --ha] | cluster:down [-- --ha] | cluster:status
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HA_DIR, startHa } from './ha.js';
import { down, healthy, kubeconfigPath, memory, up, withLock } from './launcher.js';

const command = process.argv[2];
const ha = process.argv.includes('--ha');

/** The HA topology's processes (by pid) from its pids.json, stopped with SIGTERM. */
function stopHa(): void {
  const file = join(HA_DIR, 'pids.json');
  if (!existsSync(file)) return;
  for (const { pid } of JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }[]) {
    try {
      if (pid) process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const shmRoot = join(HA_DIR, 'shm-root');
  if (existsSync(shmRoot)) rmSync(readFileSync(shmRoot, 'utf8'), { recursive: true, force: true });
  process.stderr.write(`[ha] stopped the processes recorded in ${file}\n`);
}

try {
  if (command === 'up' && ha) {
    stopHa();
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
    stopHa();
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
