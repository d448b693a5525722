// npm run cluster:up | cluster:down | cluster:status
import { down, healthy, kubeconfigPath, memory, up, withLock } from './launcher.js';

const command = process.argv[2];
try {
  if (command === 'up') {
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
    process.stderr.write('usage: cli.ts up|down|status\n');
    process.exitCode = 2;
  }
} catch (error) {
  process.stderr.write(`[cluster] ${(error as Error).message}\n`);
  process.exitCode = 1;
}
