import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { adminConfig, ensureCluster, installWekubeRbac, testNamespace } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

// Apps that existed before wekube: created by someone else's manifest, with their own selector, a container named
// `main`, a sidecar, and a field another manager owns. wekube changes only what the command is about.

let bot: TestBot;
let chat: Conversation;
let apps: AppsV1Api;
const namespaces: Record<'test' | 'prod', { name: string; remove(): Promise<void> }> = {} as never;

/** A Deployment as a release platform would create it, applied with its own field manager. */
function foreign(name: string, namespace: string, options: { containers?: { name: string; image: string }[]; annotations?: Record<string, string> } = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name, team: 'shop', release: 'jenkins-42' }, annotations: options.annotations },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name, team: 'shop' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name, team: 'shop' }, annotations: { 'prometheus.io/scrape': 'true' } },
        spec: {
          containers: options.containers ?? [
            { name: 'main', image: `registry.example/shop/${name}:0.9` },
            { name: 'log-agent', image: 'registry.example/infra/fluent-bit:2.1' },
          ],
        },
      },
    },
  };
}

async function create(deployment: V1Deployment): Promise<void> {
  await apps.patchNamespacedDeployment(
    { name: deployment.metadata!.name!, namespace: deployment.metadata!.namespace!, body: deployment, fieldManager: 'jenkins', force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
}

const read = (name: string, env: 'test' | 'prod' = 'test') => apps.readNamespacedDeployment({ name, namespace: namespaces[env].name });
const containers = (d: V1Deployment) => Object.fromEntries((d.spec?.template?.spec?.containers ?? []).map((c) => [c.name, c.image]));
/** The Deployment's spec and labels without what a rollout or wekube's command legitimately changes. */
const untouched = (d: V1Deployment) => {
  const spec = structuredClone(d.spec!);
  for (const container of spec.template.spec?.containers ?? []) if (container.name === 'main') delete container.image;
  delete spec.replicas;
  delete spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  return { spec, labels: d.metadata?.labels };
};

beforeAll(async () => {
  await ensureCluster();
  namespaces.test = await testNamespace('foreign-test');
  namespaces.prod = await testNamespace('foreign-prod');
  apps = adminConfig().makeApiClient(AppsV1Api);
  const kubeconfigs = { test: await installWekubeRbac(namespaces.test.name), prod: await installWekubeRbac(namespaces.prod.name) };
  await create(foreign('legacy-api', namespaces.test.name));
  await create(foreign('two-sides', namespaces.test.name));
  await create(foreign('by-argo', namespaces.prod.name, { annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/by-argo' } }));
  await create(foreign('forced-template', namespaces.test.name, { containers: [{ name: 'forced-template', image: 'registry.example/shop/forced-template:0.9' }] }));
  bot = await startBot({
    extra: {
      environments: {
        test: { namespace: namespaces.test.name, kubeconfig: kubeconfigs.test },
        prod: { namespace: namespaces.prod.name, kubeconfig: kubeconfigs.prod, protected: true },
      },
      access: { defaultRole: 'viewer', roles: { viewer: { allow: ['status', 'history'] }, ops: { allow: ['*'], environments: ['*'], approve: true } }, users: { lisi: ['ops'], zhaoliu: ['ops'] } },
      apps: {
        'legacy-api': { image: 'registry.example/shop/legacy-api', container: 'main' },
        'two-sides': { image: 'registry.example/shop/two-sides' },
        'by-argo': { image: 'registry.example/shop/by-argo', container: 'main' },
        'forced-template': { image: 'registry.example/shop/forced-template', manage: 'template' },
      },
      rollout: { wait: '5s', progressInterval: '10s' },
    },
  });
  chat = new Conversation(bot);
});

afterAll(async () => {
  await bot?.stop();
  for (const namespace of Object.values(namespaces)) await namespace?.remove();
});

describe('apps wekube did not create', () => {
  it('deploys by changing only the image of the named container, and reports the image that runs', async () => {
    await waitFor(async () => (await read('legacy-api')).status?.availableReplicas === 2, 20_000);
    const before = await read('legacy-api');
    await chat.ask('lisi', 'deploy legacy-api 1.0', /发布 legacy-api 1\.0 @test 成功/);
    const after = await read('legacy-api');
    expect(containers(after)).toEqual({ main: 'registry.example/shop/legacy-api:1.0', 'log-agent': 'registry.example/infra/fluent-bit:2.1' });
    expect(untouched(after)).toEqual(untouched(before));
    expect(after.spec?.replicas).toBe(2);
    // The other manager still owns what it set; wekube owns only the image it changed.
    expect(after.metadata?.managedFields?.some((entry) => entry.manager === 'jenkins')).toBe(true);
    expect(after.metadata?.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    const status = await chat.ask('lisi', 'status legacy-api', /legacy-api @test/);
    expect(status).toMatch(/镜像：registry\.example\/shop\/legacy-api:1\.0/);
  });

  it('scales, rolls back and restarts such an app with nothing else changing', async () => {
    const before = await read('legacy-api');
    await chat.ask('lisi', 'scale legacy-api 3', /调整 legacy-api 副本数为 3 @test 成功/);
    expect((await read('legacy-api')).spec?.replicas).toBe(3);
    await chat.ask('lisi', 'rollback legacy-api', /回滚 legacy-api 到版本 1 @test 成功/);
    expect(containers(await read('legacy-api')).main).toBe('registry.example/shop/legacy-api:0.9');
    await chat.ask('lisi', 'restart legacy-api', /重启 legacy-api @test 成功/);
    const after = await read('legacy-api');
    expect(untouched(after)).toEqual(untouched(before));
    expect(containers(after)['log-agent']).toBe('registry.example/infra/fluent-bit:2.1');
    expect(await chat.ask('lisi', 'history legacy-api', /版本历史/)).toMatch(/0\.9/);
  });

  it('refuses, with nothing written, when the container is ambiguous, a field is immutable, or GitOps owns it in prod', async () => {
    const twoSides = (await read('two-sides')).metadata?.resourceVersion;
    await chat.ask('lisi', 'deploy two-sides 1.0', /two-sides 有多个容器（main、log-agent），不知道要更新哪一个，什么都没有改/);
    expect((await read('two-sides')).metadata?.resourceVersion).toBe(twoSides);

    const forced = (await read('forced-template')).metadata?.resourceVersion;
    await chat.ask('lisi', 'deploy forced-template 1.0', /会修改 Kubernetes 不允许修改的字段 spec\.selector，什么都没有改/);
    expect((await read('forced-template')).metadata?.resourceVersion).toBe(forced);

    const argo = (await read('by-argo', 'prod')).metadata?.resourceVersion;
    await chat.ask('lisi', 'deploy by-argo 1.0 @prod', /by-argo 由 Argo CD 管理.*已拒绝，什么都没有改/);
    expect((await read('by-argo', 'prod')).metadata?.resourceVersion).toBe(argo);
  });

  it('says in a protected preview which way the deploy goes', async () => {
    await create(foreign('legacy-api', namespaces.prod.name));
    const preview = await chat.ask('lisi', 'deploy legacy-api 1.1 @prod', /确认/);
    expect(preview).toMatch(/方式：只更新容器 main 的镜像/);
    expect(preview).toMatch(/legacy-api 不是 wekube 创建的/);
  });

  it('shows which version runs where, and the app\'s events', async () => {
    const apps = await chat.ask('zhaoliu', 'apps', /个应用在 2 个环境中的版本/);
    expect(apps).toMatch(/\*\*legacy-api\*\*: test 0\.9 \(\d\/3\) · prod 0\.9 \(\d\/2\)/);
    expect(apps).toMatch(/\*\*by-argo\*\*: test - · prod 0\.9/);
    const events = await chat.ask('zhaoliu', 'events legacy-api', /legacy-api @test 最近的 \d+ 条事件/);
    expect(events).toMatch(/Deployment\/legacy-api ScalingReplicaSet/);
  });

  it('reads the last log lines of the app\'s pods with secrets masked, and honours --since', async () => {
    // kwok plays the nodes' kubelet and serves test/cluster/fake-container-log.txt as every container's log.
    const logs = await chat.askAll('zhaoliu', 'logs legacy-api', /legacy-api @test 的日志/);
    expect(logs).toMatch(/Pod legacy-api-[a-z0-9-]+ · 容器 main · 3 行/);
    expect(logs).toMatch(/Pod legacy-api-[a-z0-9-]+ · 容器 log-agent/);
    expect(logs).toContain('connected to db with password=******');
    expect(logs).not.toContain('hunter2');
    expect(logs).toMatch(/INFO ready/);
    // The fake log's lines are older than a minute: --since reaches the kubelet and leaves none.
    expect(await chat.askAll('zhaoliu', 'logs legacy-api --since 1m', /legacy-api @test 的日志/)).toMatch(/容器 main · 0 行\n.*没有日志/);
    await chat.ask('zhaoliu', 'logs legacy-api nosuchpod', /legacy-api 没有名为 nosuchpod 的 Pod/);
    await chat.ask('zhaoliu', 'logs legacy-api --since soon', /--since 后面要跟时长/);
  });
});
