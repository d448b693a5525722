// The HA test topology the drill tests break for real: three etcd members, two kube-apiservers behind haproxy (the
// VIP), two kube-controller-managers and two kube-schedulers electing leaders with short leases, kwok nodes, and a
// primary and a replica OCI registry. Every process runs on loopback; the control-plane processes get their own
// host name (a UTS namespace: cp-a, cp-b), as on separate machines, so apiserver identity leases and leader
// identities tell them apart. Started by `npm run cluster:up -- --ha` or by a test (startHa).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { freePort } from '../helpers/ports.js';
import { pushImage, REGISTRY_BINARY } from '../helpers/registry.js';
import { alive, apiserverArgs, build, kubeconfig, pki, probe, repoRoot, residentBytes } from './launcher.js';

export const HA_DIR = join(repoRoot, '.cluster-ha');
const here = join(repoRoot, 'test', 'cluster');
const HOSTS = ['cp-a', 'cp-b'] as const;
export const HA_NODES = ['node-1', 'node-2', 'node-3'];
/** Leader election timings short enough for tests, in the same proportions as the defaults (15 s / 10 s / 2 s). */
const LEASE = ['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s'];

const log = (message: string) => process.stderr.write(`[ha] ${message}\n`);

interface Proc {
  name: string;
  /** The program: a control-plane binary from the build, or haproxy or the registry from Debian. */
  binary: string;
  args: string[];
  /** Host name of the UTS namespace it runs in. */
  host?: string;
  pid?: number;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`HA topology: timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface HaTopology {
  dir: string;
  kubeconfigPath: string;
  /** The VIP: haproxy in front of both apiservers. */
  vip: string;
  /** Each apiserver's own address. */
  apiservers: string[];
  /** Each etcd member's /health URL. */
  etcdHealth: string[];
  etcdEndpoints: string[];
  registries: { primary: { host: string; url: string }; replica: { host: string; url: string } };
  startedInMs: number;
  stopEtcd(index: number): Promise<void>;
  startEtcd(index: number): Promise<void>;
  stopApiserver(index: number): Promise<void>;
  startApiserver(index: number): Promise<void>;
  /** Stops the current leader of kube-controller-manager or kube-scheduler; resolves with its host name. */
  stopLeader(lease: 'kube-controller-manager' | 'kube-scheduler'): Promise<string>;
  /** Starts every stopped kube-controller-manager and kube-scheduler again. */
  startControllers(): Promise<void>;
  /** A node fails (its kubelet, played by its own kwok, stops) or comes back. */
  setNodeUp(node: string, up: boolean): Promise<void>;
  stopRegistry(which: 'primary' | 'replica'): Promise<void>;
  startRegistry(which: 'primary' | 'replica'): Promise<void>;
  /** Pushes a small image to both registries, as replication would. */
  pushImage(repository: string, tag: string): Promise<void>;
  /** etcdctl snapshot save from a healthy member; resolves with the file. */
  snapshot(): string;
  /** Stops both apiservers and all etcd members, restores each member from the snapshot, starts etcd again. */
  restoreEtcd(file: string): Promise<void>;
  /** Resident memory of every process, in bytes. */
  memory(): Record<string, number>;
  down(): Promise<void>;
}

export async function startHa(dir = HA_DIR): Promise<HaTopology> {
  const began = Date.now();
  const bin = build();
  if (!existsSync('/usr/sbin/haproxy')) throw new Error('haproxy is missing: apt-get install haproxy (.ci/run does)');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const pkiDir = join(dir, 'pki');
  pki(pkiDir);
  const ca = readFileSync(join(pkiDir, 'ca.crt'));
  const procs = new Map<string, Proc>();

  const spawnProc = (proc: Proc) => {
    const fd = openSync(join(dir, 'logs', `${proc.name}.log`), 'a');
    const binary = proc.binary.startsWith('/') ? proc.binary : join(bin, proc.binary);
    // unshare --uts runs the program in place (no fork) in a namespace whose host name is its machine's.
    const child = proc.host
      ? spawn('unshare', ['--uts', 'sh', '-c', `hostname ${proc.host} && exec "$0" "$@"`, binary, ...proc.args], { detached: true, stdio: ['ignore', fd, fd] })
      : spawn(binary, proc.args, { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    proc.pid = child.pid;
    procs.set(proc.name, proc);
    writeFileSync(join(dir, 'pids.json'), JSON.stringify([...procs.values()].map((p) => ({ name: p.name, pid: p.pid }))));
  };
  const stopProc = async (name: string) => {
    const proc = procs.get(name);
    if (!proc || !alive(proc.pid)) return;
    process.kill(proc.pid!, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(proc.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (alive(proc.pid)) process.kill(proc.pid!, 'SIGKILL');
    // A child we spawned stays a zombie until reaped; it is detached and unref'd, so only its liveness matters here.
    proc.pid = undefined;
  };

  // etcd: three members on tmpfs.
  const etcdPorts = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })));
  const etcdNames = ['etcd-0', 'etcd-1', 'etcd-2'];
  const initialCluster = etcdNames.map((name, i) => `${name}=http://127.0.0.1:${etcdPorts[i]!.peer}`).join(',');
  // etcd on tmpfs (fsync-free); where, is written down so `cluster:down -- --ha` removes it.
  const shmRoot = join('/dev/shm', `wekube-ha-${process.pid}-${began}`);
  writeFileSync(join(dir, 'shm-root'), shmRoot);
  const etcdData = (i: number) => join(shmRoot, etcdNames[i]!);
  const etcdEndpoints = etcdPorts.map((ports) => `http://127.0.0.1:${ports.client}`);
  const etcdArgs = (i: number, state: 'new' | 'existing') => [
    `--name=${etcdNames[i]}`,
    `--data-dir=${etcdData(i)}`,
    `--listen-client-urls=${etcdEndpoints[i]}`,
    `--advertise-client-urls=${etcdEndpoints[i]}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPorts[i]!.peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPorts[i]!.peer}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-state=${state}`,
    '--initial-cluster-token=wekube-ha',
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
  etcdNames.forEach((name, i) => spawnProc({ name, binary: 'etcd', args: etcdArgs(i, 'new') }));
  const etcdHealth = etcdEndpoints.map((endpoint) => `${endpoint}/health`);
  const memberHealthy = async (url: string) => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return ((await response.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  };
  await until('three etcd members healthy', async () => (await Promise.all(etcdHealth.map(memberHealthy))).every(Boolean));

  // Two apiservers on their own hosts, and haproxy as the VIP in front of them.
  const apiPorts = [await freePort(), await freePort()];
  const apiservers = apiPorts.map((port) => `https://127.0.0.1:${port}`);
  const apiserverProc = (i: number): Proc => ({
    name: `kube-apiserver-${'ab'[i]}`,
    binary: 'kube-apiserver',
    host: HOSTS[i],
    args: [
      ...apiserverArgs(etcdEndpoints.join(','), apiPorts[i]!, pkiDir, join(dir, 'logs', `audit-${i}.log`)),
      '--default-not-ready-toleration-seconds=5',
      '--default-unreachable-toleration-seconds=5',
    ],
  });
  [0, 1].forEach((i) => spawnProc(apiserverProc(i)));
  const vipPort = await freePort();
  const vip = `https://127.0.0.1:${vipPort}`;
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      '  maxconn 2000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 10m',
      '  timeout server 10m',
      'frontend vip',
      `  bind 127.0.0.1:${vipPort}`,
      '  default_backend apiservers',
      'backend apiservers',
      '  option httpchk GET /readyz',
      '  default-server inter 500ms fall 2 rise 2 check check-ssl verify none',
      ...apiPorts.map((port, i) => `  server ${HOSTS[i]} 127.0.0.1:${port}`),
      '',
    ].join('\n'),
  );
  spawnProc({ name: 'haproxy', binary: '/usr/sbin/haproxy', args: ['-f', join(dir, 'haproxy.cfg'), '-db'] });
  await until('both apiservers ready', async () => (await Promise.all(apiservers.map((url) => probe(`${url}/readyz`, ca)))).every((status) => status === 200));
  await until('the VIP answering', async () => (await probe(`${vip}/readyz`, ca)) === 200);
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(vip, pkiDir));

  // Controllers and schedulers: two of each, on the VIP, leader-elected with short leases.
  const controllerProc = (kind: 'kube-controller-manager' | 'kube-scheduler', i: number): Proc => ({
    name: `${kind}-${'ab'[i]}`,
    binary: kind,
    host: HOSTS[i],
    args:
      kind === 'kube-controller-manager'
        ? [`--kubeconfig=${kubeconfigPath}`, '--bind-address=127.0.0.1', '--secure-port=0', `--root-ca-file=${join(pkiDir, 'ca.crt')}`, `--service-account-private-key-file=${join(pkiDir, 'admin.key')}`, '--use-service-account-credentials=true', '--node-monitor-grace-period=15s', '--node-monitor-period=1s', ...LEASE, '--v=1']
        : [`--kubeconfig=${kubeconfigPath}`, '--bind-address=127.0.0.1', '--secure-port=0', ...LEASE, '--v=1'],
  });
  for (const kind of ['kube-controller-manager', 'kube-scheduler'] as const) [0, 1].forEach((i) => spawnProc(controllerProc(kind, i)));
  // One kwok per node, as one kubelet per machine: stopping a node's kwok is that node failing.
  const kwokProc = async (node: string): Promise<Proc> => {
    const port = await freePort();
    return {
      name: `kwok-${node}`,
      binary: 'kwok',
      args: [`--kubeconfig=${kubeconfigPath}`, `--config=${join(here, 'kwok-stages.yaml')}`, '--node-lease-duration-seconds=8', `--manage-single-node=${node}`, '--cidr=10.244.0.0/16', '--node-ip=127.0.0.1', `--node-port=${port}`, `--server-address=127.0.0.1:${port}`, `--tls-cert-file=${join(pkiDir, 'admin.crt')}`, `--tls-private-key-file=${join(pkiDir, 'admin.key')}`],
    };
  };
  for (const node of HA_NODES) spawnProc(await kwokProc(node));
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const core = config.makeApiClient(CoreV1Api);
  const leases = config.makeApiClient(CoordinationV1Api);
  const leaderOf = async (lease: string) => {
    try {
      const found = await leases.readNamespacedLease({ name: lease, namespace: 'kube-system' });
      const renewed = found.spec?.renewTime ? new Date(found.spec.renewTime).getTime() : 0;
      return Date.now() - renewed < 6_000 ? found.spec?.holderIdentity?.split('_')[0] : undefined;
    } catch {
      return undefined;
    }
  };
  await until('controller-manager and scheduler leaders', async () => Boolean((await leaderOf('kube-controller-manager')) && (await leaderOf('kube-scheduler'))));
  for (const name of HA_NODES) {
    await core.createNode({ body: { metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } } } });
  }
  await until('three nodes Ready', async () => {
    const nodes = (await core.listNode()).items;
    return nodes.length === HA_NODES.length && nodes.every((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !(node.spec?.taints ?? []).some((taint) => taint.key.startsWith('node.kubernetes.io/not-ready')));
  });
  await until('default service account', async () => core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(() => true, () => false));

  // Two registries, each with its own storage, as Harbor's primary and its replica.
  const registries = { primary: { host: '', url: '' }, replica: { host: '', url: '' } };
  for (const which of ['primary', 'replica'] as const) {
    const port = await freePort();
    const config = { version: 0.1, log: { level: 'error' }, storage: { filesystem: { rootdirectory: join(dir, `registry-${which}`) } }, http: { addr: `127.0.0.1:${port}` } };
    writeFileSync(join(dir, `registry-${which}.yml`), stringify(config));
    spawnProc({ name: `registry-${which}`, binary: REGISTRY_BINARY, args: ['serve', join(dir, `registry-${which}.yml`)] });
    registries[which] = { host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
  }
  const registryUp = async (which: 'primary' | 'replica') => (await fetch(`${registries[which].url}/v2/`).catch(() => undefined))?.status === 200;
  await until('registries answering', async () => (await registryUp('primary')) && (await registryUp('replica')));
  const startedInMs = Date.now() - began;
  log(`HA topology up in ${(startedInMs / 1000).toFixed(1)}s: VIP ${vip}, kubeconfig ${kubeconfigPath}`);

  return {
    dir,
    kubeconfigPath,
    vip,
    apiservers,
    etcdHealth,
    etcdEndpoints,
    registries,
    startedInMs,
    stopEtcd: (i) => stopProc(etcdNames[i]!),
    async startEtcd(i) {
      spawnProc({ name: etcdNames[i]!, binary: 'etcd', args: etcdArgs(i, 'existing') });
      await until(`${etcdNames[i]} healthy`, () => memberHealthy(etcdHealth[i]!));
    },
    stopApiserver: (i) => stopProc(`kube-apiserver-${'ab'[i]}`),
    async startApiserver(i) {
      spawnProc(apiserverProc(i));
      await until(`apiserver ${HOSTS[i]} ready`, async () => (await probe(`${apiservers[i]}/readyz`, ca)) === 200);
    },
    async stopLeader(lease) {
      const holder = await leaderOf(lease);
      if (!holder) throw new Error(`${lease} has no leader`);
      await stopProc(`${lease}-${holder === 'cp-a' ? 'a' : 'b'}`);
      return holder;
    },
    async startControllers() {
      for (const kind of ['kube-controller-manager', 'kube-scheduler'] as const) {
        [0, 1].forEach((i) => {
          if (!alive(procs.get(`${kind}-${'ab'[i]}`)?.pid)) spawnProc(controllerProc(kind, i));
        });
      }
    },
    async setNodeUp(node, up) {
      if (up) spawnProc(await kwokProc(node));
      else await stopProc(`kwok-${node}`);
    },
    stopRegistry: (which) => stopProc(`registry-${which}`),
    async startRegistry(which) {
      spawnProc({ name: `registry-${which}`, binary: REGISTRY_BINARY, args: ['serve', join(dir, `registry-${which}.yml`)] });
      await until(`registry ${which}`, () => registryUp(which));
    },
    async pushImage(repository, tag) {
      await pushImage(registries.primary.url, repository, tag);
      await pushImage(registries.replica.url, repository, tag);
    },
    snapshot() {
      const file = join(dir, `snapshot-${Date.now()}.db`);
      // A snapshot is taken from one member (etcdctl refuses several endpoints).
      execFileSync(join(bin, 'etcdctl'), [`--endpoints=${etcdEndpoints[0]}`, 'snapshot', 'save', file], { stdio: 'ignore' });
      return file;
    },
    async restoreEtcd(file) {
      for (const i of [0, 1]) await stopProc(`kube-apiserver-${'ab'[i]}`);
      for (const name of etcdNames) await stopProc(name);
      etcdNames.forEach((name, i) => {
        rmSync(etcdData(i), { recursive: true, force: true });
        execFileSync(join(bin, 'etcdutl'), [
          'snapshot', 'restore', file,
          `--name=${name}`,
          `--data-dir=${etcdData(i)}`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-token=wekube-ha',
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPorts[i]!.peer}`,
          // Revisions jump past everything the watch caches saw, so nothing serves stale objects (etcd#16028).
          '--bump-revision=1000000000',
          '--mark-compacted',
        ], { stdio: 'ignore' });
      });
      etcdNames.forEach((name, i) => spawnProc({ name, binary: 'etcd', args: etcdArgs(i, 'new') }));
      await until('etcd members healthy after the restore', async () => (await Promise.all(etcdHealth.map(memberHealthy))).every(Boolean));
    },
    memory: () => Object.fromEntries([...procs.values()].map((proc) => [proc.name, residentBytes(proc.pid)])),
    async down() {
      for (const name of [...procs.keys()].reverse()) await stopProc(name);
      rmSync(shmRoot, { recursive: true, force: true });
      log('HA topology stopped');
    },
  };
}
