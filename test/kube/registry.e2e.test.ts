import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { adminConfig, ensureCluster, installWekubeRbac, testNamespace } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

// The tag check before a deploy, against a real OCI registry (Debian's docker-registry) on loopback.

let registry: RunningRegistry;
let bot: TestBot;
let chat: Conversation;
let namespace: { name: string; remove(): Promise<void> };
/** A registry host where nothing listens. */
let closed: string;

beforeAll(async () => {
  await ensureCluster();
  registry = await startRegistry();
  for (const tag of ['1.4.0', '1.4.1', '1.4.2', '1.5.0']) await registry.push('shop/order-service', tag);
  namespace = await testNamespace('registry');
  const kubeconfig = await installWekubeRbac(namespace.name);
  closed = `127.0.0.1:${await freePort()}`;
  bot = await startBot({
    extra: {
      environments: { test: { namespace: namespace.name, kubeconfig }, prod: { namespace: namespace.name, kubeconfig, protected: true } },
      access: { defaultRole: 'viewer', roles: { viewer: { allow: ['tags'] }, ops: { allow: ['*'], environments: ['*'], approve: true } }, users: { lisi: ['ops'] } },
      apps: {
        'order-service': { image: `${registry.host}/shop/order-service`, replicas: 1 },
        // A registry that is configured but not there: a warning, not a block.
        'pay-service': { image: `${closed}/shop/pay-service`, replicas: 1 },
      },
      registries: { [registry.host]: { url: registry.url }, [closed]: { url: `http://${closed}` } },
      rollout: { wait: '5s', progressInterval: '10s' },
    },
  });
  chat = new Conversation(bot);
});

afterAll(async () => {
  await bot?.stop();
  await registry?.stop();
  await namespace?.remove();
});

describe('the registry check', () => {
  it('refuses a tag the registry does not have, naming the nearest ones, with nothing applied', async () => {
    await chat.ask('lisi', 'deploy order-service 1.4.3', /镜像仓库里没有 127\.0\.0\.1:\d+\/shop\/order-service:1\.4\.3，什么都没有改。最接近的标签：1\.4\.2、1\.4\.1、1\.4\.0、1\.5\.0/);
    const apps = adminConfig().makeApiClient(AppsV1Api);
    await expect(apps.readNamespacedDeployment({ name: 'order-service', namespace: namespace.name })).rejects.toMatchObject({ code: 404 });
  });

  it('deploys a tag the registry has, and lists the tags', async () => {
    await chat.ask('lisi', 'deploy order-service 1.4.2', /发布 order-service 1\.4\.2 @test 成功/);
    const tags = await chat.ask('wangwu', 'tags order-service', /最近的 4 个标签/);
    expect(tags.indexOf('1.5.0')).toBeLessThan(tags.indexOf('1.4.2'));
  });

  it('warns, and goes on, when the registry cannot be asked', async () => {
    const from = await chat.send('lisi', 'deploy pay-service 2.0');
    await chat.expect('lisi', /问不到镜像仓库 127\.0\.0\.1:\d+\/shop\/pay-service 是否有这个标签（ECONNREFUSED），照常发布/, from);
    await chat.expect('lisi', /发布 pay-service 2\.0 @test/, from);
    const preview = await chat.ask('lisi', 'deploy pay-service 2.0 @prod', /confirm|确认/);
    expect(preview).toMatch(/问不到镜像仓库/);
  });
});
