import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/launcher.js';
import { HA_NODES, startHa, type HaTopology } from '../cluster/ha.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
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

function botOptions() {
  return {
    dataDir,
    fake: { chats: ['ops-oncall'] },
    extra: {
      environments: {
        test: {
          namespace: NAMESPACE,
          kubeconfig: ha.kubeconfigPath,
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
  return [...report.matchAll(/恢复用时 ((?:\d+ 分 )?\d+ 秒)/g)].map((match) => durationMs(match[1]!));
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
    await chat.expect(OPS, /已开始演练 #\d+ etcd-member-loss/, from);
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
});
