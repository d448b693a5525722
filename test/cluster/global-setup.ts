import { down, healthy, withLock } from './launcher.js';

// The cluster starts lazily (ensureCluster in the files that need it). A cluster this run started is stopped at
// the end; one that was running before (`npm run cluster:up`) is left running. WEKUBE_KEEP_CLUSTER=1 keeps it.
export default async function setup(): Promise<() => Promise<void>> {
  const runningBefore = await healthy();
  return async () => {
    if (runningBefore || process.env.WEKUBE_KEEP_CLUSTER === '1') return;
    if (await healthy()) await withLock(down);
  };
}
