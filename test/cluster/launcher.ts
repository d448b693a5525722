// The test control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1,
// built from Go modules (build.sh) and started as detached processes so `npm run cluster:up` returns and the
// cluster keeps running for the tests. The facts behind every flag are in ../shared/reference/control-plane.md.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freePort } from '../helpers/ports.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const clusterDir = join(repoRoot, '.cluster');
export const kubeconfigPath = join(clusterDir, 'kubeconfig');
/** The apiserver's audit log (one JSON event per request, Metadata level). */
export const auditLogPath = join(clusterDir, 'logs', 'audit.log');
const statePath = join(clusterDir, 'state.json');
const lockPath = join(repoRoot, '.cluster.lock');

export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];

interface ComponentState {
  name: string;
  pid: number;
  log: string;
}

export interface ClusterState {
  startedAt: string;
  bin: string;
  etcdDataDir: string;
  ports: Record<string, number>;
  components: ComponentState[];
  server: string;
}

const log = (message: string) => process.stderr.write(`[cluster] ${message}\n`);

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): ClusterState | undefined {
  if (!existsSync(statePath)) return undefined;
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** GET over TLS against the cluster CA; resolves with the status (0 when unreachable). */
export function probe(url: string, ca: Buffer, timeoutMs = 2000): Promise<number> {
  return new Promise((resolveProbe) => {
    const req = request(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      resolveProbe(res.statusCode ?? 0);
    });
    req.on('error', () => resolveProbe(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, component?: ComponentState): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (component && !alive(component.pid)) {
      throw new Error(`${component.name} exited while starting; last lines of ${component.log}:\n${tail(component.log)}`);
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${component ? `; last lines of ${component.log}:\n${tail(component.log)}` : ''}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  log(`${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs build.sh (which returns at once when the binaries are cached) and returns the bin directory. */
export function build(): string {
  const script = join(here, 'build.sh');
  try {
    const output = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return output.trim().split('\n').pop()!;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 3) throw new Error('the test cluster needs Go 1.26+ to build the control plane: install it from https://go.dev/dl/ (or put /usr/local/go/bin on PATH) and run again');
    throw new Error(`building the control plane failed (exit ${status}); see the output above`);
  }
}

export function pki(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(
    join(dir, 'leaf.cnf'),
    [
      'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:::1',
      'extendedKeyUsage=serverAuth,clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'basicConstraints=CA:FALSE',
    ].join('\n'),
  );
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=wekube-test-ca');
  // One leaf for everything, as kwokctl does: apiserver serving cert, admin client cert, service-account signer.
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/O=system:masters/CN=wekube-admin');
  openssl('x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'admin.crt', '-days', '3650', '-extfile', 'leaf.cnf');
}

export function kubeconfig(server: string, pkiDir: string): string {
  const b64 = (file: string) => readFileSync(join(pkiDir, file)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: wekube-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    '- name: admin',
    '  user:',
    `    client-certificate-data: ${b64('admin.crt')}`,
    `    client-key-data: ${b64('admin.key')}`,
    'contexts:',
    '- name: wekube-test',
    '  context: { cluster: wekube-test, user: admin }',
    'current-context: wekube-test',
    '',
  ].join('\n');
}

function start(name: string, bin: string, args: string[]): ComponentState {
  const logFile = join(clusterDir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(join(bin, name), args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  return { name, pid: child.pid, log: logFile };
}

export function apiserverArgs(etcdUrl: string, port: number, pkiDir: string, auditLog: string): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${join(pkiDir, 'admin.crt')}`,
    `--tls-private-key-file=${join(pkiDir, 'admin.key')}`,
    `--client-ca-file=${join(pkiDir, 'ca.crt')}`,
    '--authorization-mode=Node,RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(pkiDir, 'admin.key')}`,
    `--service-account-signing-key-file=${join(pkiDir, 'admin.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    // kwok's nodes are reached at their InternalIP, 127.0.0.1 (logs): never by looking their names up.
    '--kubelet-preferred-address-types=InternalIP',
    `--audit-policy-file=${join(here, 'audit-policy.yaml')}`,
    `--audit-log-path=${auditLog}`,
    '--v=1',
  ];
}

export interface ExtraApiserver {
  server: string;
  pid: number;
  /** SIGSTOP: connections are accepted by the kernel, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** SIGTERM and wait: connections are refused. */
  stop(): Promise<void>;
}

/**
 * One more kube-apiserver on the running cluster's etcd, as in an HA control plane: a test can freeze or stop it
 * without disturbing the shared one that other test files use.
 */
export async function startExtraApiserver(): Promise<ExtraApiserver> {
  const state = readState();
  if (!state) throw new Error('the test cluster is not running');
  const pkiDir = join(clusterDir, 'pki');
  const port = await freePort();
  const etcdUrl = `http://127.0.0.1:${state.ports.etcdClient}`;
  const component = start(`kube-apiserver`, state.bin, apiserverArgs(etcdUrl, port, pkiDir, join(clusterDir, 'logs', `audit-${port}.log`)));
  const server = `https://127.0.0.1:${port}`;
  await until('extra kube-apiserver ready', async () => (await probe(`${server}/readyz`, readFileSync(join(pkiDir, 'ca.crt')))) === 200, 120_000, component);
  return {
    server,
    pid: component.pid,
    freeze: () => process.kill(component.pid, 'SIGSTOP'),
    thaw: () => process.kill(component.pid, 'SIGCONT'),
    async stop() {
      if (!alive(component.pid)) return;
      process.kill(component.pid, 'SIGCONT');
      process.kill(component.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (alive(component.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (alive(component.pid)) process.kill(component.pid, 'SIGKILL');
    },
  };
}

/** Is the recorded cluster running and answering? */
export async function healthy(state = readState()): Promise<boolean> {
  if (!state || !state.components.every((component) => alive(component.pid))) return false;
  if (!existsSync(join(clusterDir, 'pki', 'ca.crt'))) return false;
  return (await probe(`${state.server}/readyz`, readFileSync(join(clusterDir, 'pki', 'ca.crt')))) === 200;
}

/** Starts the cluster, or reuses the one already running. Resolves with its state. */
export async function up(): Promise<ClusterState> {
  const running = readState();
  if (running && (await healthy(running))) {
    log(`reusing the running cluster at ${running.server} (kubeconfig ${kubeconfigPath})`);
    return running;
  }
  if (running) {
    log('the recorded cluster is not healthy; replacing it');
    await down();
  }
  const began = Date.now();
  const bin = build();
  rmSync(clusterDir, { recursive: true, force: true });
  mkdirSync(join(clusterDir, 'logs'), { recursive: true });
  const pkiDir = join(clusterDir, 'pki');
  pki(pkiDir);
  const ca = readFileSync(join(pkiDir, 'ca.crt'));

  const ports: Record<string, number> = {};
  for (const name of ['etcdClient', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler', 'kwok']) ports[name] = await freePort();
  // etcd on tmpfs when there is one: fsync-free and fast (control-plane.md §5 step 6).
  const shm = existsSync('/dev/shm') && statSync('/dev/shm').isDirectory();
  const etcdDataDir = shm ? join('/dev/shm', `wekube-etcd-${process.pid}-${Date.now()}`) : join(clusterDir, 'etcd');
  const state: ClusterState = {
    startedAt: new Date().toISOString(),
    bin,
    etcdDataDir,
    ports,
    components: [],
    server: `https://127.0.0.1:${ports.apiserver}`,
  };
  const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));

  try {
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const etcd = start('etcd', bin, [
      '--name=node0',
      `--data-dir=${etcdDataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=node0=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--auto-compaction-retention=1',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ]);
    state.components.push(etcd);
    save();
    await until('etcd healthy', async () => {
      try {
        const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1000) });
        return ((await response.json()) as { health?: string }).health === 'true';
      } catch {
        return false;
      }
    }, 30_000, etcd);

    const apiserver = start('kube-apiserver', bin, apiserverArgs(etcdUrl, ports.apiserver!, pkiDir, auditLogPath));
    state.components.push(apiserver);
    save();
    await until('kube-apiserver ready', async () => (await probe(`${state.server}/readyz`, ca)) === 200, 120_000, apiserver);

    writeFileSync(kubeconfigPath, kubeconfig(state.server, pkiDir));
    const always = '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics';
    const controllerManager = start('kube-controller-manager', bin, [
      `--kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      always,
      `--root-ca-file=${join(pkiDir, 'ca.crt')}`,
      `--service-account-private-key-file=${join(pkiDir, 'admin.key')}`,
      '--use-service-account-credentials=true',
      '--v=1',
    ]);
    const scheduler = start('kube-scheduler', bin, [`--kubeconfig=${kubeconfigPath}`, '--bind-address=127.0.0.1', `--secure-port=${ports.scheduler}`, always, '--v=1']);
    // Every pod's containers log the lines of fake-container-log.txt: kwok serves them as the nodes' kubelet, on loopback
    // over TLS, where the API server's log proxy finds it (the node's address and kubelet port).
    const logsConfig = join(clusterDir, 'kwok-logs.yaml');
    writeFileSync(
      logsConfig,
      ['apiVersion: kwok.x-k8s.io/v1alpha1', 'kind: ClusterLogs', 'metadata:', '  name: every-pod', 'spec:', '  selector: {}', '  logs:', '  - containers: []', `    logsFile: ${join(here, 'fake-container-log.txt')}`, '    follow: false', ''].join('\n'),
    );
    const kwok = start('kwok', bin, [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${join(here, 'kwok-stages.yaml')}`,
      `--config=${logsConfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.244.0.0/16',
      '--node-ip=127.0.0.1',
      `--node-port=${ports.kwok}`,
      `--server-address=127.0.0.1:${ports.kwok}`,
      `--tls-cert-file=${join(pkiDir, 'admin.crt')}`,
      `--tls-private-key-file=${join(pkiDir, 'admin.key')}`,
    ]);
    state.components.push(controllerManager, scheduler, kwok);
    save();
    // The serving certs of these two are self-signed, so their health is checked without the cluster CA.
    const insecure = (url: string) =>
      new Promise<number>((resolveProbe) => {
        const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
          res.resume();
          resolveProbe(res.statusCode ?? 0);
        });
        req.on('error', () => resolveProbe(0));
        req.end();
      });
    await until('kube-controller-manager healthy', async () => (await insecure(`https://127.0.0.1:${ports.controllerManager}/healthz`)) === 200, 60_000, controllerManager);
    await until('kube-scheduler healthy', async () => (await insecure(`https://127.0.0.1:${ports.scheduler}/healthz`)) === 200, 60_000, scheduler);
    await until('kwok healthy', async () => {
      try {
        return (await probe(`https://127.0.0.1:${ports.kwok}/healthz`, ca)) === 200;
      } catch {
        return false;
      }
    }, 60_000, kwok);

    const config = new KubeConfig();
    config.loadFromFile(kubeconfigPath);
    const core = config.makeApiClient(CoreV1Api);
    for (const name of FAKE_NODES) {
      await core.createNode({
        body: {
          metadata: {
            name,
            annotations: { 'kwok.x-k8s.io/node': 'fake' },
            labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
          },
        },
      });
    }
    await until(`${FAKE_NODES.length} nodes Ready and schedulable`, async () => {
      const nodes = (await core.listNode()).items;
      return nodes.length === FAKE_NODES.length && nodes.every((node) =>
        node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
        !(node.spec?.taints ?? []).some((taint) => taint.key === 'node.kubernetes.io/not-ready'));
    }, 60_000);
    await until('default service account', async () => {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      } catch {
        return false;
      }
    }, 60_000);
    log(`cluster up in ${((Date.now() - began) / 1000).toFixed(1)}s: ${state.server}, kubeconfig ${kubeconfigPath}`);
    return state;
  } catch (error) {
    log(`start-up failed: ${(error as Error).message}`);
    await down();
    throw error;
  }
}

/**
 * Stops every process the cluster started (by pid): SIGTERM to all, at most five seconds to go, then SIGKILL.
 * A test cluster needs no graceful shutdown, and a slow one must not outlast the test runner's teardown.
 */
export async function down(): Promise<void> {
  const state = readState();
  if (state) {
    const signal = (pid: number, name: NodeJS.Signals) => {
      try {
        process.kill(-pid, name);
      } catch {
        try {
          process.kill(pid, name);
        } catch {
          // already gone
        }
      }
    };
    for (const component of state.components) signal(component.pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (state.components.some((component) => alive(component.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const component of state.components) if (alive(component.pid)) signal(component.pid, 'SIGKILL');
    rmSync(state.etcdDataDir, { recursive: true, force: true });
    log(`stopped ${state.components.map((component) => component.name).join(', ')}`);
  }
  rmSync(clusterDir, { recursive: true, force: true });
}

/** Serialises `up` across processes (vitest runs test files in parallel workers). */
export async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60 * 60_000;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(lockPath, 'utf8') || 0);
      if (holder && !alive(holder)) rmSync(lockPath, { force: true });
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by process ${holder}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

/** Resident memory of the running control plane, per component (from /proc). */
export function memory(state = readState()): Record<string, number> {
  return Object.fromEntries((state?.components ?? []).map((component) => [component.name, residentBytes(component.pid)]));
}

/** Resident memory of one process (from /proc), 0 when it is gone. */
export function residentBytes(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
