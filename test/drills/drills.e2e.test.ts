import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/launcher.js';
import { startHa, type HaTopology } from '../cluster/ha.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { DRILL_RBAC_MANIFEST, installWekubeRbac } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

// Every shipped checklist, driven through the fake WeCom against the HA topology: the test makes the real fault at
// the human steps (stops an etcd member, an apiserver, a leader, a node, a registry; restores etcd from a snapshot)
// and undoes it, and compares the report's figures with what it measured itself.

const OPS = 'lisi';
const NAMESPACE = 'shop-test';
const APP = 'order-service';

let ha: HaTopology;
let bot: TestBot;
let chat: Conversation;
let core: CoreV1Api;
let apps: AppsV1Api;
let leases: CoordinationV1Api;
let dataDir: string;
/** The bot's own identity in the HA cluster: deploy/rbac.yaml and deploy/rbac-drills.yaml, nothing more. */
let botKubeconfig: string;

function botOptions() {
  return {
    dataDir,
    fake: { chats: ['ops-oncall'] },
    extra: {
      access: {
        defaultRole: 'viewer',
        roles: { viewer: { allow: ['help', 'drill'], environments: ['test'] }, ops: { allow: ['*'], environments: ['*'], approve: true } },
        users: { lisi: ['ops'], wangwu: ['ops'] },
      },
      environments: {
        test: {
          namespace: NAMESPACE,
          kubeconfig: botKubeconfig,
          requestTimeout: '3s',
          drillVars: {
            apiservers: ha.apiservers,
            etcdHealth: ha.etcdHealth,
            criticalApps: [APP],
            registryPrimaryHealth: `${ha.registries.primary.url}/v2/`,
            registryReplicaHealth: `${ha.registries.replica.url}/v2/`,
            registryReplica: ha.registries.replica.host,
          },
        },
        prod: { namespace: NAMESPACE, kubeconfig: botKubeconfig, protected: true, approvals: 1, drillVars: { apiservers: ha.apiservers } },
      },
      apps: { [APP]: { image: `${ha.registries.primary.host}/shop/${APP}`, replicas: 3 } },
      registries: {
        [ha.registries.primary.host]: { url: ha.registries.primary.url },
        [ha.registries.replica.host]: { url: ha.registries.replica.url },
      },
      drills: { dir: resolve(repoRoot, 'config/drills'), to: [{ chat: 'ops-oncall' }] },
    },
  };
}

/** "1 分 5 秒" → 65 000 ms */
function durationMs(text: string): number {
  const minutes = /(\d+) 分/.exec(text)?.[1];
  const seconds = /(\d+) 秒/.exec(text)?.[1];
  return (Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000;
}

/** The report's time to recovery, per fault, in ms. */
function recoveries(report: string): number[] {
  return [...report.matchAll(/(?:恢复用时：|领导者：)((?:\d+ 分 )?\d+ 秒)(?:，在目标|，超过目标)/g)].map((match) => durationMs(match[1]!));
}

/** Waits for the card of step `n` (its title line) to reach the user. */
const stepCard = (n: number, total: number, from = 0, timeoutMs = 90_000) => chat.expect(OPS, new RegExp(`第 ${n}/${total} 步`), from, timeoutMs);

async function report(from: number, timeoutMs = 120_000): Promise<string> {
  const first = await chat.expect(OPS, /演练报告/, from, timeoutMs);
  // A long report comes in numbered parts.
  const parts = /\(1\/(\d+)\)$/.exec(first);
  if (!parts) return first;
  const start = chat.seen(OPS).indexOf(first, from);
  await chat.expect(OPS, new RegExp(`\\(${parts[1]}/${parts[1]}\\)$`), start, timeoutMs);
  return chat.seen(OPS).slice(start, start + Number(parts[1])).join('\n');
}

/** Polls until `condition` holds; resolves with when it first did. */
async function whenTrue(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  await waitFor(condition, timeoutMs, what);
  return Date.now();
}

async function holderOf(lease: string): Promise<string | undefined> {
  const found = await leases.readNamespacedLease({ name: lease, namespace: 'kube-system' }).catch(() => undefined);
  return found?.spec?.holderIdentity?.split('_')[0];
}

async function writeCommits(): Promise<boolean> {
  const name = `probe-${Date.now()}`;
  try {
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name } } });
    await core.deleteNamespacedConfigMap({ name, namespace: NAMESPACE });
    return true;
  } catch {
    return false;
  }
}

async function etcdHealthy(): Promise<boolean> {
  const answers = await Promise.all(ha.etcdHealth.map((url) => fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.json() as Promise<{ health?: string }>, () => ({}) as { health?: string })));
  return answers.every((answer) => answer.health === 'true');
}

beforeAll(async () => {
  ha = await startHa(mkdtempSync(join(tmpdir(), 'wekube-ha-')));
  const config = new KubeConfig();
  config.loadFromFile(ha.kubeconfigPath);
  core = config.makeApiClient(CoreV1Api);
  apps = config.makeApiClient(AppsV1Api);
  leases = config.makeApiClient(CoordinationV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE }).then(() => true, () => false), 30_000, 'default ServiceAccount');
  botKubeconfig = await installWekubeRbac(NAMESPACE, { admin: config, manifests: [DRILL_RBAC_MANIFEST] });
  await ha.pushImage(`shop/${APP}`, '1.0.0');
  // The app the guard watches: three replicas spread over the three nodes, and a PDB that keeps two.
  await apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      metadata: { name: APP, labels: { app: APP } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: APP } },
        template: {
          metadata: { labels: { app: APP } },
          spec: {
            containers: [{ name: APP, image: `${ha.registries.primary.host}/shop/${APP}:1.0.0` }],
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: APP } } }],
            tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
    },
  });
  await config.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({ namespace: NAMESPACE, body: { metadata: { name: APP }, spec: { minAvailable: 2, selector: { matchLabels: { app: APP } } } } });
  await waitFor(async () => (await apps.readNamespacedDeployment({ name: APP, namespace: NAMESPACE })).status?.availableReplicas === 3, 60_000, 'the app available');
  dataDir = join(mkdtempSync(join(tmpdir(), 'wekube-drills-')), 'data');
  bot = await startBot(botOptions());
  chat = new Conversation(bot);
}, 300_000);

afterAll(async () => {
  await bot?.stop();
  await ha?.down();
});

describe('drills against the HA topology', () => {
  it('etcd member loss: quorum holds, writes commit, the member comes back; a restart of the bot mid-check loses nothing', async () => {
    const from = await chat.send(OPS, 'drill start etcd-member-loss');
    await chat.expect(OPS, /lisi 在 test 开始了演练 #\d+ etcd-member-loss/, from);
    // The precondition (all members healthy) runs first, then the step card.
    await stepCard(1, 5, from);
    expect(bot.fake.shown('chat:ops-oncall').some((d) => /开始了演练/.test(d.content))).toBe(true);

    // Done before the fault is made: the check waits; the bot restarts while it waits; the check resumes.
    const faultAt = Date.now();
    await chat.send(OPS, '完成 停 etcd-1');
    await chat.expect(OPS, /正在等待“停止一个 etcd 成员”的检查通过/, from);
    await bot.stop();
    await ha.stopEtcd(1);
    bot = await startBot(botOptions());
    chat = new Conversation(bot);
    await chat.expect(OPS, /检查通过：停止一个 etcd 成员。.*2\/3 个地址符合预期/s, 0, 90_000);
    await chat.expect(OPS, /检查通过：写入仍然成功.*写入成功/s);
    await chat.expect(OPS, /检查通过：API 通过 VIP 仍然可用/);
    const card = await stepCard(4, 5, 0);
    expect(card).toContain('启动停止的 etcd 成员');

    await ha.startEtcd(1);
    const from2 = await chat.send(OPS, '完成');
    await waitFor(etcdHealthy, 60_000, 'etcd whole again');
    const recoveredAt = Date.now();
    const text = await report(from2);
    if (process.env.SHOW_REPORTS) console.log(text);
    expect(text).toMatch(/结果：通过/);
    const [ttr] = recoveries(text);
    // The bot's clock: from the fault step's done to the recovery check passing (every 2 s).
    expect(Math.abs(ttr! - (recoveredAt - faultAt))).toBeLessThanOrEqual(4_000);
    expect(text).toMatch(/在目标 5 分 之内/);
    // The whole team saw it: the drill chat got the report too.
    await waitFor(() => bot.fake.shown('chat:ops-oncall').some((d) => /演练报告/.test(d.content)), 10_000, 'report in the drill chat');
  }, 300_000);

  it('apiserver VIP failover: the VIP keeps answering, identity leases drop to n-1 and come back', async () => {
    const from = await chat.send(OPS, 'drill start apiserver-vip-failover');
    await stepCard(2, 6, from);
    await ha.stopApiserver(0);
    const faultAt = Date.now();
    await chat.send(OPS, '完成');
    const recoveredAt = await whenTrue(writeCommits, 30_000, 'writes through the VIP');
    await chat.expect(OPS, /检查通过：apiserver 身份租约减少一个.*1 个 kube-apiserver 在线/s, from, 90_000);
    await stepCard(5, 6, from);
    await ha.startApiserver(0);
    const from2 = await chat.send(OPS, '完成');
    const text = await report(from2, 90_000);
    if (process.env.SHOW_REPORTS) console.log(text);
    expect(text).toMatch(/结果：通过/);
    expect(text).toMatch(/2 个 kube-apiserver 在线（预期 2）：cp-a, cp-b/);
    const [ttr] = recoveries(text);
    expect(Math.abs(ttr! - (recoveredAt - faultAt))).toBeLessThanOrEqual(4_000);
  }, 300_000);

  it('controller-manager and scheduler leader failover: the lease moves to the other instance, the failover time matches', async () => {
    const from = await chat.send(OPS, 'drill start control-plane-leader-failover');
    const measured: number[] = [];
    for (const [n, lease] of [[2, 'kube-controller-manager'], [4, 'kube-scheduler']] as const) {
      await stepCard(n, 5, from);
      const before = await leases.readNamespacedLease({ name: lease, namespace: 'kube-system' });
      const old = await ha.stopLeader(lease);
      const stoppedAt = Date.now();
      await chat.send(OPS, '完成');
      const movedAt = await whenTrue(async () => Boolean((await holderOf(lease)) && (await holderOf(lease)) !== old), 60_000, `${lease} leader moved`);
      measured.push(movedAt - stoppedAt);
      const evidence = await chat.expect(OPS, new RegExp(`${lease} 领导者：(cp-[ab])（原 ${old}，切换用时 ([\\d.]+) 秒）`), from, 60_000);
      const [, holder, seconds] = new RegExp(`${lease} 领导者：(cp-[ab])（原 ${old}，切换用时 ([\\d.]+) 秒）`).exec(evidence)!;
      expect(holder).not.toBe(old);
      // The bot counts from the old leader's last renewal (at most a retry period before the stop) to the new acquire.
      expect(Math.abs(Number(seconds) * 1000 - (movedAt - stoppedAt))).toBeLessThanOrEqual(2_500);
      expect(before.spec?.leaseTransitions ?? 0).toBeLessThan((await leases.readNamespacedLease({ name: lease, namespace: 'kube-system' })).spec?.leaseTransitions ?? 0);
    }
    await stepCard(5, 5, from);
    await ha.startControllers();
    const from2 = await chat.send(OPS, '完成');
    const text = await report(from2);
    if (process.env.SHOW_REPORTS) console.log(text, measured);
    expect(text).toMatch(/结果：通过/);
    const ttrs = recoveries(text);
    expect(ttrs).toHaveLength(2);
    ttrs.forEach((ttr, i) => expect(Math.abs(ttr - measured[i]!)).toBeLessThanOrEqual(3_000));
  }, 300_000);

  it('node failure and drain: pods are replaced elsewhere, the app stays available, the node comes back uncordoned', async () => {
    const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${APP}` })).items.filter((pod) => !pod.metadata?.deletionTimestamp);
    const node = pods[0]!.spec!.nodeName!;
    const from = await chat.send(OPS, `drill start node-failure node=${node} app=${APP}`);
    const card = await stepCard(2, 6, from);
    expect(card).toContain(`让节点 ${node} 故障`);
    await ha.setNodeUp(node, false);
    const faultAt = Date.now();
    await chat.send(OPS, '完成');
    const readyElsewhere = async () => {
      const live = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${APP}` })).items.filter((pod) => !pod.metadata?.deletionTimestamp);
      const ready = live.filter((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return live.every((pod) => pod.spec?.nodeName !== node) && ready.length >= 3;
    };
    const recoveredAt = await whenTrue(readyElsewhere, 180_000, 'pods replaced elsewhere');
    await stepCard(5, 6, from, 120_000);
    // Cordon, then evict what is left through the Eviction API (which a PodDisruptionBudget may refuse with 429).
    await core.patchNode({ name: node, body: [{ op: 'add', path: '/spec/unschedulable', value: true }] });
    const left = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items.filter((pod) => !pod.metadata?.deletionTimestamp);
    for (const pod of left) await core.createNamespacedPodEviction({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace! } } });
    await chat.send(OPS, '完成');
    await stepCard(6, 6, from);
    // The node is back, and the bot waits until it is uncordoned too.
    await ha.setNodeUp(node, true);
    await chat.send(OPS, '完成');
    await chat.expect(OPS, /正在等待“恢复节点/, from, 60_000);
    await core.patchNode({ name: node, body: [{ op: 'replace', path: '/spec/unschedulable', value: false }] });
    const text = await report(from, 120_000);
    if (process.env.SHOW_REPORTS) console.log(text);
    expect(text).toMatch(/结果：通过/);
    const [ttr] = recoveries(text);
    expect(Math.abs(ttr! - (recoveredAt - faultAt))).toBeLessThanOrEqual(4_000);
  }, 400_000);

  it('Harbor failover: the primary stops, the replica answers and holds every image the apps run', async () => {
    const from = await chat.send(OPS, 'drill start harbor-failover');
    await chat.expect(OPS, new RegExp(`仓库 ${ha.registries.replica.host.replace(/\./g, '\\.')} 有 1/1 个镜像`), from, 60_000);
    await stepCard(3, 5, from);
    await ha.stopRegistry('primary');
    const faultAt = Date.now();
    await chat.send(OPS, '完成');
    const recoveredAt = await whenTrue(async () => (await fetch(`${ha.registries.replica.url}/v2/shop/${APP}/manifests/1.0.0`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status === 200, 30_000, 'replica serves');
    await stepCard(5, 5, from);
    await ha.startRegistry('primary');
    const from2 = await chat.send(OPS, '完成');
    const text = await report(from2);
    if (process.env.SHOW_REPORTS) console.log(text);
    expect(text).toMatch(/结果：通过/);
    const [ttr] = recoveries(text);
    expect(Math.abs(ttr! - (recoveredAt - faultAt))).toBeLessThanOrEqual(4_000);
  }, 300_000);

  it('etcd backup and restore: the marker from before the snapshot is back, the one from after it is gone', async () => {
    const from = await chat.send(OPS, 'drill start etcd-backup-restore');
    await stepCard(2, 8, from);
    const snapshot = ha.snapshot();
    await chat.send(OPS, '完成 snapshot saved');
    await chat.expect(OPS, /检查通过：写入备份后标记/, from);
    await stepCard(4, 8, from);
    await ha.stopApiserver(0);
    await ha.stopApiserver(1);
    const faultAt = Date.now();
    await chat.send(OPS, '完成');
    await stepCard(5, 8, from, 60_000);
    await ha.restoreEtcd(snapshot);
    await ha.startApiserver(0);
    await ha.startApiserver(1);
    await chat.send(OPS, '完成');
    const recoveredAt = await whenTrue(writeCommits, 120_000, 'writes after the restore');
    const text = await report(from, 180_000);
    if (process.env.SHOW_REPORTS) console.log(text);
    expect(text).toMatch(/结果：通过/);
    expect(text).toMatch(/标记 wekube-drill-\d+-before 存在/);
    expect(text).toMatch(/标记 wekube-drill-\d+-after 不存在/);
    const [ttr] = recoveries(text);
    expect(Math.abs(ttr! - (recoveredAt - faultAt))).toBeLessThanOrEqual(5_000);
  }, 400_000);

  it('a protected environment asks for confirmation and an approval before the drill starts; an abort ends it with a report', async () => {
    const from = await chat.send(OPS, 'drill start apiserver-vip-failover @prod');
    const prompt = await chat.expect(OPS, /确认码|confirm/, from);
    const code = /confirm (\d{4})/.exec(prompt)![1]!;
    expect(chat.seen(OPS).slice(from).some((text) => /第 1\/6 步/.test(text))).toBe(false);
    await chat.ask(OPS, `confirm ${code}`, /wangwu/);
    const approverFrom = chat.seen('wangwu').length;
    await chat.send('wangwu', `approve ${code}`);
    await stepCard(2, 6, from);
    expect(chat.seen('wangwu').slice(approverFrom).join('\n')).toMatch(/演练/);
    // Someone whose role allows drills only in test cannot answer the prod run by typing 完成 without @prod.
    expect(await chat.ask('zhaoliu', '完成', /不能在环境 prod 使用 drill/)).toBeTruthy();
    const from2 = await chat.send(OPS, 'drill abort @prod 只验证审批流程');
    const text = await report(from2);
    expect(text).toMatch(/结果：已中止/);
    expect(text).toMatch(/只验证审批流程/);
    // Every start, step and end is in the audit log.
    const audit = await chat.ask(OPS, 'audit 30', /审计|audit/i);
    expect(audit).toMatch(/drill start apiserver-vip-failover/);
  }, 300_000);
});
