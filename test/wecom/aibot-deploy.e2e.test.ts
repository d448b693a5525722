import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AibotSender } from '../fakes/aibot-sender.js';
import { AIBOT, startBot, type TestBot } from '../helpers/bot.js';
import { ensureCluster, installWekubeRbac, testNamespace } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

// A team's group chat driving the real control plane through the 智能机器人: a deploy answers with one live message
// that moves from "started" through the rollout to the result; a protected deploy is confirmed by its requester
// only and approved by another ops, all from the group.

const GROUP = 'wrkSFfCgAAtMQKg4xqDatMdeploy01';
let bot: TestBot;
let config: Parameters<typeof startBot>[0];
let wecom: AibotSender;
let namespace: { name: string; remove(): Promise<void> };
let prod: { name: string; remove(): Promise<void> };

beforeAll(async () => {
  await ensureCluster();
  namespace = await testNamespace('aibot-test');
  prod = await testNamespace('aibot-prod');
  config = {
    aibot: true,
    extra: {
      environments: {
        test: { namespace: namespace.name, kubeconfig: await installWekubeRbac(namespace.name) },
        prod: { namespace: prod.name, kubeconfig: await installWekubeRbac(prod.name), protected: true, approvals: 1 },
      },
      access: {
        defaultRole: 'viewer',
        roles: { viewer: { allow: ['help', 'status', 'whoami'] }, developer: { allow: ['*'], environments: ['test'] }, ops: { allow: ['*'], environments: ['*'], approve: true } },
        users: { zhangsan: ['developer'], lisi: ['ops'], zhaoliu: ['ops'] },
      },
      apps: {
        'order-service': { image: 'registry.example/shop/order-service', replicas: { default: 3 }, minReplicas: 1, maxReplicas: 6 },
        // Asks for more CPU than a node has: its rollout never finishes.
        'slow-app': { image: 'registry.example/shop/slow', replicas: 1, resources: { requests: { cpu: '500' } } },
      },
      rollout: { wait: '60s', progressInterval: '1s' },
    },
  };
  bot = await startBot(config);
  wecom = new AibotSender({ url: bot.wekube.url, ...AIBOT, fake: bot.fake, pollMs: 100 });
}, 180_000);

afterAll(async () => {
  await wecom?.stop();
  await bot?.stop();
  await namespace?.remove();
  await prod?.remove();
});

describe('deploys from the group chat', () => {
  it('one live message follows the rollout on the real control plane and ends with the result in place', async () => {
    const asked = await wecom.say('zhangsan', 'deploy order-service 1.0.0', { group: GROUP });
    const text = await wecom.final(asked, 90_000);
    expect(text).toMatch(/order-service/);
    expect(text).toMatch(/成功|完成/);
    if (process.env.SHOW_LIVE) console.log(asked.versions);
    // Started, then the result, in the same message; every version WeCom showed is a prefix of the next. How many
    // versions a poll catches depends on how fast kwok's pods get ready, so the story is checked in the final one.
    expect(asked.versions[0]).toMatch(/处理中/);
    expect(asked.versions.length).toBeGreaterThanOrEqual(2);
    expect(text.indexOf('开始发布 order-service')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('开始发布 order-service')).toBeLessThan(text.indexOf('成功'));
    for (let i = 2; i < asked.versions.length; i++) expect(asked.versions[i]!.startsWith(asked.versions[i - 1]!)).toBe(true);
    // Nothing went to the app chat: the group saw it all in one message.
    expect(bot.fake.shown('user:zhangsan')).toHaveLength(0);
    const status = await wecom.final(await wecom.say('lisi', 'status order-service', { group: GROUP }), 30_000);
    expect(status).toMatch(/1\.0\.0/);
  });

  it('a protected deploy from the group: only the requester confirms, another ops approves, the group sees the outcome', async () => {
    const asked = await wecom.final(await wecom.say('lisi', 'deploy order-service 1.0.1 @prod', { group: GROUP }));
    const code = /confirm (\d{4})/.exec(asked)![1]!;
    // Someone else cannot confirm it.
    expect(await wecom.final(await wecom.say('zhaoliu', `confirm ${code}`, { group: GROUP }))).toMatch(/lisi/);
    const confirmed = await wecom.final(await wecom.say('lisi', `confirm ${code}`, { group: GROUP }));
    expect(confirmed).toMatch(/zhaoliu/);
    // The approver is asked in their own chat with the app, with the change and how to approve it.
    expect(bot.fake.shown('user:zhaoliu').some((sent) => sent.content.includes(`approve ${code}`))).toBe(true);
    const approved = await wecom.final(await wecom.say('zhaoliu', `approve ${code}`, { group: GROUP }), 90_000);
    expect(approved).toMatch(/order-service/);
    // The requester hears of it where they asked: in the group, quoting their confirm, once, with the result.
    await waitFor(() => bot.fake.shown(`group:${GROUP}`).length > 0, 30_000, 'the requester was answered in the group');
    const told = bot.fake.shown(`group:${GROUP}`);
    expect(told).toHaveLength(1);
    expect(told[0]!.content).toMatch(/zhaoliu/);
    expect(told[0]!.content).toMatch(/1\.0\.1/);
    expect(bot.fake.shown('user:lisi')).toHaveLength(0);
    const status = await wecom.final(await wecom.say('lisi', 'status order-service @prod', { group: GROUP }), 30_000);
    expect(status).toMatch(/1\.0\.1/);
  });

  it('a live message outlives a restart: a command cut off mid-run says so in its message, and is not run again', async () => {
    const asked = await wecom.say('zhangsan', 'deploy slow-app 1.0.0', { group: GROUP });
    await waitFor(() => asked.content.includes('开始发布 slow-app'), 30_000, 'the deploy started');
    await wecom.stop();
    await bot.stop();
    bot = await startBot({ ...config, dataDir: bot.dataDir });
    wecom = new AibotSender({ url: bot.wekube.url, ...AIBOT, fake: bot.fake, pollMs: 100 });
    // WeCom keeps polling the same stream; the restarted bot answers it from its store.
    const shown = await wecom.refresh(asked.streamId!, 'zhangsan');
    expect(shown?.finish).toBe(true);
    expect(shown?.content).toMatch(/开始发布 slow-app/);
    expect(shown?.content).toMatch(/wekube 重启时“deploy slow-app 1\.0\.0”还在执行，结果未知/);
  }, 120_000);
});
