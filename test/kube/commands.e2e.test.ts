import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { adminConfig, ensureCluster, installWekubeRbac, testNamespace } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

// The Kubernetes commands end to end: WeCom callbacks in, the bot running as the ServiceAccount deploy/rbac.yaml
// defines, the real control plane, replies read from the fake WeCom. The conversation is spread over several
// users, as in a real team: WeCom lets one member receive 30 messages a minute, and wekube holds the rest back.

let bot: TestBot;
let chat: Conversation;
let apps: AppsV1Api;
let core: CoreV1Api;
const namespaces: Record<'test' | 'prod' | 'dev', { name: string; remove(): Promise<void> }> = {} as never;
let clockOffset = 0;

beforeAll(async () => {
  await ensureCluster();
  namespaces.test = await testNamespace('cmd-test');
  namespaces.prod = await testNamespace('cmd-prod');
  namespaces.dev = await testNamespace('cmd-dev');
  const kubeconfigs = {
    test: await installWekubeRbac(namespaces.test.name),
    prod: await installWekubeRbac(namespaces.prod.name),
    // A ServiceAccount whose Role is not bound: every request is refused with 403.
    dev: await installWekubeRbac(namespaces.dev.name, { bind: false }),
  };
  bot = await startBot({
    now: () => Date.now() + clockOffset,
    extra: {
      environments: {
        test: { namespace: namespaces.test.name, kubeconfig: kubeconfigs.test },
        prod: { namespace: namespaces.prod.name, kubeconfig: kubeconfigs.prod, protected: true, approvals: 1 },
        dev: { namespace: namespaces.dev.name, kubeconfig: kubeconfigs.dev },
      },
      access: {
        defaultRole: 'viewer',
        roles: {
          viewer: { allow: ['help', 'status', 'history', 'whoami'] },
          developer: { allow: ['*'], environments: ['dev', 'test'] },
          ops: { allow: ['*'], environments: ['*'], approve: true },
        },
        users: { zhangsan: ['developer'], sunqi: ['developer'], lisi: ['ops'], zhaoliu: ['ops'], zhouba: ['ops'] },
      },
      apps: {
        'order-service': { image: 'registry.example/shop/order-service', port: 8080, replicas: { default: 3 }, minReplicas: 1, maxReplicas: 6, owners: ['zhangsan'] },
        // Asks for more CPU than a node has: its pods stay Pending and its rollouts never finish.
        'slow-app': { image: 'registry.example/shop/slow', replicas: 1, resources: { requests: { cpu: '500' } } },
      },
      rollout: { wait: '4s', progressInterval: '10s' },
    },
  });
  chat = new Conversation(bot);
  apps = adminConfig().makeApiClient(AppsV1Api);
  core = adminConfig().makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await bot?.stop();
  for (const namespace of Object.values(namespaces)) await namespace?.remove();
});

const read = (env: 'test' | 'prod', name = 'order-service') => apps.readNamespacedDeployment({ name, namespace: namespaces[env].name });
const image = (d: V1Deployment) => d.spec?.template?.spec?.containers[0]?.image;

describe('deploy, rollback, restart, scale, status, history', () => {
  it('deploys from the generic template, follows the rollout and reports it', async () => {
    const from = await chat.send('zhangsan', 'deploy order-service 1.0.0');
    await chat.expect('zhangsan', /开始发布 order-service：- → 1\.0\.0 @test，3 个副本/, from);
    const done = await chat.expect('zhangsan', /发布 order-service 1\.0\.0 @test 成功/, from);
    expect(done).toMatch(/版本：1/);
    expect(done).toMatch(/副本：3\/3/);
    const deployment = await read('test');
    expect(image(deployment)).toBe('registry.example/shop/order-service:1.0.0');
    expect(deployment.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('wecom:zhangsan deploy order-service 1.0.0');
    expect(deployment.metadata?.managedFields?.some((field) => field.manager === 'wekube' && field.operation === 'Apply')).toBe(true);
    const service = await core.readNamespacedService({ name: 'order-service', namespace: namespaces.test.name });
    expect(service.spec?.ports?.[0]?.port).toBe(8080);
  });

  it('records three revisions with who deployed them', async () => {
    await chat.ask('zhangsan', 'deploy order-service 1.1.0', /发布 order-service 1\.1\.0 @test 成功/);
    await chat.ask('lisi', '发布 order-service 1.2.0', /发布 order-service 1\.2\.0 @test 成功/);
    const history = await chat.ask('wangwu', 'history order-service', /order-service @test 的版本历史/);
    expect(history).toMatch(/#1 1\.0\.0 · .* · wecom:zhangsan deploy order-service 1\.0\.0/);
    expect(history).toMatch(/#2 1\.1\.0 · .* · wecom:zhangsan deploy order-service 1\.1\.0/);
    expect(history).toMatch(/#3 1\.2\.0 · .* · wecom:lisi deploy order-service 1\.2\.0 （当前）/);
  });

  it('rolls back like kubectl rollout undo: previous revision, a given one, and skips the current template', async () => {
    const back = await chat.ask('lisi', 'rollback order-service', /回滚 order-service 到版本 2 @test 成功/);
    expect(back).toMatch(/版本：4/);
    expect(image(await read('test'))).toBe('registry.example/shop/order-service:1.1.0');
    await chat.ask('lisi', '回滚 order-service 1', /回滚 order-service 到版本 1 @test 成功/);
    expect(image(await read('test'))).toBe('registry.example/shop/order-service:1.0.0');
    // Revisions 1 and 2 became 5 and 4: the list is 3, 4, 5.
    const history = await chat.ask('lisi', 'history order-service', /版本历史/);
    expect(history).toMatch(/#3 1\.2\.0/);
    expect(history).toMatch(/#4 1\.1\.0 · .* · wecom:lisi rollback order-service$/m);
    expect(history).toMatch(/#5 1\.0\.0 · .* · wecom:lisi rollback order-service to 1 （当前）/);
    await chat.ask('lisi', 'rollback order-service 5', /当前已经是版本 5 的模板，无需回滚/);
    await chat.ask('lisi', 'rollback order-service 2', /order-service 没有版本 2。现有版本：3, 4, 5/);
  });

  it('scales through the scale subresource within bounds, and a deploy keeps the count', async () => {
    await chat.ask('zhangsan', 'scale order-service 5', /调整 order-service 副本数为 5 @test 成功/);
    expect((await read('test')).spec?.replicas).toBe(5);
    await chat.ask('zhangsan', 'deploy order-service 1.3.0', /发布 order-service 1\.3\.0 @test 成功[\s\S]*副本：5\/5/);
    expect((await read('test')).spec?.replicas).toBe(5);
    const before = await read('test');
    await chat.ask('zhangsan', 'scale order-service 9', /order-service 的副本数必须在 1 到 6 之间，收到 9/);
    await chat.ask('zhangsan', 'scale order-service -1', /<副本数> 不能小于 0/);
    expect((await read('test')).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const history = await chat.ask('wangwu', 'history order-service', /版本历史/);
    expect(history).toMatch(/最近一次扩缩容：zhangsan 把副本数从 3 改为 5/);
  });

  it('restarts with the restartedAt annotation, as a new revision', async () => {
    const revision = Number((await read('test')).metadata?.annotations?.['deployment.kubernetes.io/revision']);
    await chat.ask('lisi', 'restart order-service', /重启 order-service @test 成功/);
    const deployment = await read('test');
    expect(deployment.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'])).toBe(revision + 1);
    expect(deployment.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('wecom:lisi restart order-service');
  });

  it('shows the status of one app, and one line per app', async () => {
    const status = await chat.ask('wangwu', 'status order-service', /order-service @test/);
    expect(status).toMatch(/发布完成，全部副本可用/);
    expect(status).toMatch(/期望 5 · 已更新 5 · 就绪 5 · 可用 5/);
    expect(status).toMatch(/镜像：registry\.example\/shop\/order-service:1\.3\.0/);
    const all = await chat.ask('wangwu', '状态', /环境（命名空间/);
    expect(all).toMatch(/order-service 5\/5 1\.3\.0 · .*发布完成/);
    expect(all).toMatch(/slow-app 未部署/);
  });
});

describe('refusals leave the cluster unchanged and say what to do', () => {
  it('refuses without permission, outside the role, and on unknown apps, tags and environments', async () => {
    const before = await read('test');
    await chat.ask('wangwu', 'deploy order-service 9.9.9', /你的角色（viewer）不能使用 deploy/);
    await chat.ask('zhangsan', 'deploy order-service 9.9.9 @prod', /你的角色（developer）不能在环境 prod 使用 deploy/);
    await chat.ask('zhangsan', 'deploy payment 1.0', /没有应用“payment”。已配置的应用：order-service、slow-app/);
    await chat.ask('zhangsan', 'deploy order-service ../../etc', /镜像标签“\.\.\/\.\.\/etc”不合法/);
    await chat.ask('zhangsan', 'deploy order-service 1.0 @staging', /没有环境“staging”。可用环境：test、prod、dev/);
    await chat.ask('zhangsan', 'deploy order-service', /缺少参数 <标签>[\s\S]*deploy <应用> <标签> \[@环境\]/);
    expect((await read('test')).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('shows a missing Kubernetes permission as a 403 the user can act on', async () => {
    await chat.ask('zhangsan', 'status order-service @dev', /wekube 在 dev（命名空间 cmd-dev-[0-9a-f]+）没有这个权限：.*forbidden/);
  });

  it('runs one change at a time per app and environment, naming who runs what', async () => {
    const first = await chat.send('zhangsan', 'deploy slow-app 1.0');
    await chat.expect('zhangsan', /开始发布 slow-app/, first);
    await chat.ask('lisi', 'deploy slow-app 1.1', /zhangsan 正在执行“deploy slow-app 1\.0”/);
    // The rollout outlives the bot's wait (4s in this config): the user hears it is still going.
    await chat.expect('zhangsan', /发布 slow-app 1\.0 @test 仍在进行中[\s\S]*稍后发送 status slow-app @test 查看结果/, first);
    expect(image(await read('test', 'slow-app'))).toBe('registry.example/shop/slow:1.0');
    await chat.ask('lisi', 'status slow-app', /发布进行中[\s\S]*slow-app-.*: Unschedulable/);
  });
});

describe('failed rollouts are reported with the reason a human needs', () => {
  it('ImagePullBackOff', async () => {
    const report = await chat.ask('sunqi', 'deploy order-service 1.4.0-imagepullbackoff', /发布 order-service 1\.4\.0-imagepullbackoff @test 失败/);
    expect(report).toMatch(/原因：ImagePullBackOff/);
    expect(report).toMatch(/Back-off pulling image .*order-service:1\.4\.0-imagepullbackoff/);
    expect(report).toMatch(/需要时发送 rollback order-service @test/);
  });

  it('CrashLoopBackOff with the container\'s last message, then a rollback repairs it', async () => {
    const report = await chat.ask('sunqi', 'deploy order-service 1.5.0-crashloop', /发布 order-service 1\.5\.0-crashloop @test 失败/);
    expect(report).toMatch(/原因：CrashLoopBackOff/);
    expect(report).toMatch(/容器已重启 3 次，最后的输出：[\s\S]*panic: dial tcp 10\.0\.0\.9:3306: connect: connection refused/);
    // The previous revision is the one that could not pull its image: rolling back to it fails the same way.
    await chat.ask('sunqi', 'rollback order-service', /回滚 order-service 到版本 \d+ @test 失败[\s\S]*原因：ImagePullBackOff/);
    const history = await chat.ask('sunqi', 'history order-service', /版本历史/);
    const good = /#(\d+) 1\.3\.0 /.exec(history)![1];
    await chat.ask('sunqi', `rollback order-service ${good}`, new RegExp(`回滚 order-service 到版本 ${good} @test 成功`));
    expect(image(await read('test'))).toBe('registry.example/shop/order-service:1.3.0');
  });

  it('a ResourceQuota that forbids the new pods', async () => {
    await core.createNamespacedResourceQuota({ namespace: namespaces.test.name, body: { metadata: { name: 'pods' }, spec: { hard: { pods: '6' } } } });
    // slow-app holds one pod; order-service has five: a sixth is allowed, a seventh is not.
    const report = await chat.ask('zhouba', 'scale order-service 6', /调整 order-service 副本数为 6 @test (失败|成功)/);
    expect(report).toMatch(/失败[\s\S]*原因：FailedCreate[\s\S]*exceeded quota/);
    await core.deleteNamespacedResourceQuota({ name: 'pods', namespace: namespaces.test.name });
  });
});

describe('protected environments: confirm, approvals, audit', () => {
  it('previews a change with a code and changes nothing until it is confirmed and approved', async () => {
    const preview = await chat.ask('lisi', 'deploy order-service 2.0.0 @prod', /请在 2 分钟内发送 confirm \d{4} 确认/);
    expect(preview).toMatch(/发布 order-service 2\.0\.0 @prod/);
    expect(preview).toMatch(/镜像：首次发布 2\.0\.0/);
    expect(preview).toMatch(/确认后还需要 1 位有审批权限的同事批准/);
    const code = /confirm (\d{4})/.exec(preview)![1]!;
    await expect(read('prod')).rejects.toMatchObject({ code: 404 });

    await chat.ask('zhangsan', `confirm ${code}`, new RegExp(`变更 ${code} 是 lisi 发起的，只有发起人可以确认`));
    const approvalRequestFrom = chat.seen('zhaoliu').length;
    await chat.ask('lisi', `确认 ${code}`, /已确认，等待 1 位同事批准（已通知：zhaoliu、zhouba）/);
    const request = await chat.expect('zhaoliu', /lisi 请求批准变更[\s\S]*发布 order-service 2\.0\.0 @prod/, approvalRequestFrom);
    expect(request).toContain(`approve ${code}`);

    // While it waits, no second change of the same app there: it would run on what the first one changes.
    await chat.ask('zhouba', 'deploy order-service 2.1.0 @prod', /order-service @prod 已有一个等待确认或批准的变更：lisi 的“deploy order-service 2\.0\.0 @prod”/);
    await chat.ask('lisi', `approve ${code}`, /不能批准自己发起的变更/);
    await chat.ask('zhangsan', `approve ${code}`, /你的角色不能批准 prod 环境的变更/);
    await expect(read('prod')).rejects.toMatchObject({ code: 404 });

    const lisiFrom = chat.seen('lisi').length;
    await chat.ask('zhaoliu', `批准 ${code}`, /发布 order-service 2\.0\.0 @prod 成功/);
    await chat.expect('lisi', /zhaoliu 已批准，开始执行/, lisiFrom);
    await chat.expect('lisi', /发布 order-service 2\.0\.0 @prod 成功/, lisiFrom);
    const deployment = await read('prod');
    expect(image(deployment)).toBe('registry.example/shop/order-service:2.0.0');
    expect(deployment.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('wecom:lisi deploy order-service 2.0.0');
    await chat.ask('zhaoliu', `approve ${code}`, new RegExp(`没有待处理的变更 ${code}`));
  });

  it('lets a change expire when it is not confirmed within two minutes, and lets approvers reject one', async () => {
    const preview = await chat.ask('lisi', 'scale order-service 2 @prod', /confirm (\d{4})/);
    const code = /confirm (\d{4})/.exec(preview)![1]!;
    clockOffset += 3 * 60_000;
    try {
      const from = await chat.send('lisi', `confirm ${code}`);
      await chat.expect('lisi', new RegExp(`变更 ${code} 超过 2 分钟未确认，已作废`), from);
      await chat.expect('lisi', new RegExp(`没有待处理的变更 ${code}`), from);
    } finally {
      clockOffset -= 3 * 60_000;
    }
    const again = await chat.ask('lisi', 'restart order-service @prod', /confirm (\d{4})/);
    const second = /confirm (\d{4})/.exec(again)![1]!;
    await chat.ask('lisi', `confirm ${second}`, /等待 1 位同事批准/);
    const from = chat.seen('lisi').length;
    await chat.ask('zhaoliu', `cancel ${second}`, new RegExp(`已取消变更 ${second}`));
    await chat.expect('lisi', new RegExp(`zhaoliu 驳回了你的变更 ${second}`), from);
    expect((await read('prod')).spec?.replicas).toBe(3);
  });

  it('shows previews as cards whose buttons confirm and approve, and updates each card with the outcome', async () => {
    const from = await chat.send('zhouba', 'restart order-service @prod');
    const preview = await chat.card('zhouba', from);
    expect(preview.delivery.content).toMatch(/^重启 order-service @prod\n镜像：2\.0\.0/);
    const [confirm, cancel] = preview.button_list!;
    expect(confirm).toMatchObject({ text: '确认', key: expect.stringMatching(/^confirm \d{4}$/) });
    expect(cancel).toMatchObject({ text: '取消', key: expect.stringMatching(/^cancel \d{4}$/) });

    const approverFrom = chat.seen('zhaoliu').length;
    const clicked = await chat.click('zhouba', preview, 0);
    await chat.expect('zhouba', /已确认，等待 1 位同事批准/, clicked);
    await waitFor(() => preview.delivery.replacedWith === '已确认');

    const request = await chat.card('zhaoliu', approverFrom);
    expect(request.delivery.content).toMatch(/zhouba 请求批准变更/);
    expect(request.button_list!.map((button) => button.text)).toEqual(['批准', '驳回']);
    const approved = await chat.click('zhaoliu', request, 0);
    await chat.expect('zhaoliu', /重启 order-service @prod 成功/, approved);
    await waitFor(() => request.delivery.replacedWith === '已批准');
    expect((await read('prod')).metadata?.annotations?.['kubernetes.io/change-cause']).toBe('wecom:zhouba restart order-service');
  });

  it('keeps an audit trail of reads, changes, refusals and approvals for ops', async () => {
    const audit = await chat.askAll('zhouba', 'audit 50', /最近 \d+ 条审计记录/);
    expect(audit).toMatch(/lisi `deploy order-service 2\.0\.0 @prod` @prod → 成功 \[- → 2\.0\.0 ×3 #1\] ✓zhaoliu/);
    // Each entry is what was true when it was written: the request was not approved yet.
    expect(audit).toMatch(/lisi `deploy order-service 2\.0\.0 @prod` @prod → 待处理（等待确认） \[- → 2\.0\.0 ×3\]$/m);
    expect(audit).toMatch(/wangwu `deploy order-service 9\.9\.9` @test → 被拒绝（你的角色（viewer）不能使用 deploy。/);
    expect(audit).toMatch(/lisi `approve \d{4}` → 被拒绝（不能批准自己发起的变更。）/);
    expect(audit).toMatch(/zhangsan `approve \d{4}` → 被拒绝（你的角色不能批准 prod 环境的变更。）/);
    expect(audit).toMatch(/zhangsan `scale order-service 9` @test → 被拒绝（order-service 的副本数必须在 1 到 6 之间，收到 9。）/);
    expect(audit).toMatch(/sunqi `deploy order-service 1\.5\.0-crashloop` @test → 失败（CrashLoopBackOff/);
    expect(audit).toMatch(/→ 已过期（未在时限内确认）/);
    expect(audit).toMatch(/→ 已取消（zhaoliu 驳回）/);
    expect(audit).toMatch(/wangwu `status order-service` @test → 成功/);
    // No catalog key and no English sentence from wekube's code in a zh-CN reply.
    expect(audit).not.toMatch(/\b(refused|pending|cancelled|expired|awaiting|[a-z]+\.[a-z]+[A-Z]\w*)\b/);
    await chat.ask('wangwu', 'audit', /你的角色（viewer）不能使用 audit/);
  });
});

describe('plain Chinese', () => {
  it('never shows a catalog key or an English sentence from wekube\'s code in a zh-CN reply', () => {
    // Words of kubectl and wekube's own English catalog; what the cluster says (container output, events) is
    // quoted as it came and is left out by showing only the lines wekube wrote around it.
    const fromCode = /\b(of \d+ new replicas|replicas updated|pending termination|successfully rolled out|awaiting|cancelled by|rejected by|not confirmed in time|Something went wrong|Try again later|Usage:)\b|<(app|tag|replicas|revision)>|\[@env\]|\b[a-z]+\.[a-z]+[A-Z][A-Za-z]*\b/;
    const lines = bot.fake.deliveries.flatMap((d) => d.content.split('\n')).filter((line) => !line.startsWith('`') && !/^• \d\d:\d\d/.test(line));
    expect(lines.filter((line) => fromCode.test(line))).toEqual([]);
    expect(lines.length).toBeGreaterThan(100);
  });
});
