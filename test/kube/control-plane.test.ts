import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_NODES } from '../cluster/launcher.js';
import { adminConfig, ensureCluster, serviceAccountConfig, testNamespace } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

// The test control plane behaves like a real cluster where wekube depends on it: the deployment controller,
// ReplicaSet revisions, the scheduler, kwok making pods Ready and deleting them, RBAC.

let namespace: { name: string; remove(): Promise<void> };
let apps: AppsV1Api;
let core: CoreV1Api;

beforeAll(async () => {
  await ensureCluster();
  namespace = await testNamespace('control-plane');
  apps = adminConfig().makeApiClient(AppsV1Api);
  core = adminConfig().makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await namespace?.remove();
});

const labels = { app: 'demo' };
const deployment = (image: string, replicas: number): V1Deployment => ({
  metadata: { name: 'demo', labels },
  spec: {
    replicas,
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: 'demo', image }] } },
  },
});

async function replicaSets() {
  const list = await apps.listNamespacedReplicaSet({ namespace: namespace.name, labelSelector: 'app=demo' });
  return list.items.map((rs) => ({
    revision: rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    image: rs.spec?.template?.spec?.containers[0]?.image,
    replicas: rs.status?.replicas ?? 0,
  }));
}

async function pods() {
  return (await core.listNamespacedPod({ namespace: namespace.name, labelSelector: 'app=demo' })).items;
}

/** kubectl rollout status's "done": observed, updated, no old replicas, all available. */
async function rolledOut(replicas: number): Promise<boolean> {
  const d = await apps.readNamespacedDeployment({ name: 'demo', namespace: namespace.name });
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && s.updatedReplicas === replicas && s.replicas === replicas && s.availableReplicas === replicas;
}

describe('the test control plane', () => {
  it('runs a Deployment: ReplicaSet revision 1, pods scheduled to kwok nodes and Ready', async () => {
    await apps.createNamespacedDeployment({ namespace: namespace.name, body: deployment('registry.example/demo:1.0', 3) });
    await waitFor(() => rolledOut(3), 30_000, 'rollout of revision 1');
    expect(await replicaSets()).toEqual([{ revision: '1', image: 'registry.example/demo:1.0', replicas: 3 }]);
    const running = await pods();
    expect(running).toHaveLength(3);
    for (const pod of running) {
      expect(FAKE_NODES).toContain(pod.spec?.nodeName);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('rolls out a new image as revision 2 and scales the old ReplicaSet to zero', async () => {
    await apps.patchNamespacedDeployment(
      { name: 'demo', namespace: namespace.name, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example/demo:2.0' }] },
    );
    await waitFor(async () => (await rolledOut(3)) && (await pods()).length === 3, 30_000, 'rollout of revision 2');
    const sets = (await replicaSets()).sort((a, b) => Number(a.revision) - Number(b.revision));
    expect(sets).toEqual([
      { revision: '1', image: 'registry.example/demo:1.0', replicas: 0 },
      { revision: '2', image: 'registry.example/demo:2.0', replicas: 3 },
    ]);
    expect((await pods()).every((pod) => pod.spec?.containers[0]?.image === 'registry.example/demo:2.0')).toBe(true);
  });

  it('replaces a deleted pod', async () => {
    const [victim] = await pods();
    await core.deleteNamespacedPod({ name: victim!.metadata!.name!, namespace: namespace.name });
    await waitFor(async () => {
      const now = await pods();
      return now.length === 3 && !now.some((pod) => pod.metadata?.name === victim!.metadata!.name) && now.every((pod) => pod.status?.phase === 'Running');
    }, 30_000, 'a replacement pod');
  });

  it('scales down without leaving pods stuck Terminating', async () => {
    await apps.patchNamespacedDeploymentScale(
      { name: 'demo', namespace: namespace.name, body: [{ op: 'replace', path: '/spec/replicas', value: 1 }] },
    );
    await waitFor(async () => (await pods()).length === 1, 30_000, 'scale down to one pod');
    expect((await pods())[0]?.metadata?.deletionTimestamp).toBeUndefined();
    await waitFor(() => rolledOut(1), 30_000, 'deployment settled at one replica');
  });

  it('enforces RBAC: a ServiceAccount without a Role gets 403', async () => {
    await core.createNamespacedServiceAccount({ namespace: namespace.name, body: { metadata: { name: 'nobody' } } });
    const asNobody = (await serviceAccountConfig(namespace.name, 'nobody')).makeApiClient(CoreV1Api);
    await expect(asNobody.listNamespacedPod({ namespace: namespace.name })).rejects.toMatchObject({ code: 403 });
  });
});
