import { startHa } from '../test/cluster/ha.js';
const ha = await startHa();
console.log(ha.vip, ha.apiservers, ha.startedInMs);
console.log(Object.fromEntries(Object.entries(ha.memory()).map(([k, v]) => [k, Math.round(v / 2**20)])));
const t0 = Date.now();
const holder = await ha.stopLeader('kube-scheduler');
console.log('stopped scheduler leader', holder);
await ha.down();
