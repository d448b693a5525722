import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath, startExtraApiserver, type ExtraApiserver } from '../cluster/launcher.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { ensureCluster, installWekubeRbac, testNamespace } from '../helpers/cluster.js';

// A cluster in trouble, as the bot sees it: its API server frozen (SIGSTOP) or stopped in the middle of the
// conversation, and a namespace that is not there. The environment talks to an API server of its own on the
// shared etcd, so freezing it disturbs no other test file.

let apiserver: ExtraApiserver;
let bot: TestBot;
let chat: Conversation;
let namespace: { name: string; remove(): Promise<void> };

/** A kubeconfig like `file`, pointed at another server. */
function pointedAt(file: string, server: string): string {
  const config = new KubeConfig();
  config.loadFromFile(file);
  const copy = `${file}.extra`;
  const exported = JSON.parse(config.exportConfig()) as { clusters: { cluster: { server: string } }[] };
  for (const entry of exported.clusters) entry.cluster.server = server;
  writeFileSync(copy, JSON.stringify(exported));
  return copy;
}

beforeAll(async () => {
  await ensureCluster();
  namespace = await testNamespace('trouble');
  apiserver = await startExtraApiserver();
  const serviceAccount = pointedAt(await installWekubeRbac(namespace.name), apiserver.server);
  bot = await startBot({
    extra: {
      environments: {
        test: { namespace: namespace.name, kubeconfig: serviceAccount, requestTimeout: '2s' },
        gone: { namespace: 'no-such-namespace', kubeconfig: kubeconfigPath, requestTimeout: '2s' },
      },
      access: { defaultRole: 'viewer', roles: { viewer: { allow: ['status'] }, ops: { allow: ['*'], environments: ['*'], approve: true } }, users: { lisi: ['ops'], zhaoliu: ['ops'] } },
      apps: { 'order-service': { image: 'registry.example/shop/order-service', replicas: 1 } },
      rollout: { wait: '5s', progressInterval: '10s' },
    },
  });
  chat = new Conversation(bot);
});

afterAll(async () => {
  await bot?.stop();
  await apiserver?.stop();
  await namespace?.remove();
});

describe('a cluster in trouble', () => {
  it('answers within the deadline when the API server freezes, releases the lock, and works once it is back', async () => {
    await chat.ask('lisi', 'deploy order-service 1.0', /发布 order-service 1\.0 @test 成功/);
    apiserver.freeze();
    try {
      let started = Date.now();
      const status = await chat.ask('zhaoliu', 'status order-service', /API server 在 2 秒内没有应答/, 15_000);
      const statusSeconds = (Date.now() - started) / 1000;
      expect(status).toMatch(/请联系运维/);
      started = Date.now();
      await chat.ask('lisi', 'deploy order-service 2.0', /API server 在 2 秒内没有应答[\s\S]*status 查看/, 15_000);
      console.info(`frozen API server: status answered in ${statusSeconds.toFixed(1)} s, deploy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(statusSeconds).toBeLessThan(10);
    } finally {
      apiserver.thaw();
    }
    // The lock was released: the same change goes through now.
    await chat.ask('lisi', 'deploy order-service 2.0', /发布 order-service 2\.0 @test 成功/, 20_000);
  });

  it('names a namespace that does not exist, and changes nothing', async () => {
    const answer = await chat.ask('lisi', 'deploy order-service 1.0 @gone', /没有命名空间 no-such-namespace，什么都没有改/);
    expect(answer).not.toMatch(/稍后重试/);
  });

  it('says the connection is refused when the API server is down', async () => {
    await apiserver.stop();
    const started = Date.now();
    const answer = await chat.ask('zhaoliu', 'status order-service', /API server：连接被拒绝/, 15_000);
    expect(answer).not.toMatch(/稍后重试|出错了/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
