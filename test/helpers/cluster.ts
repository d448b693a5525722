import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeconfigPath, up, withLock } from '../cluster/launcher.js';
import { waitFor } from './wait.js';

let ready: Promise<string> | undefined;

/**
 * Brings the test control plane up (or reuses it) and resolves with its kubeconfig path. Test files that need
 * Kubernetes call this in beforeAll; files that don't never pay for it. A machine without Go fails here with
 * how to get it: cluster tests are never skipped.
 */
export function ensureCluster(): Promise<string> {
  ready ??= withLock(up).then(() => kubeconfigPath);
  return ready;
}

export function adminConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return config;
}

/** A namespace of the test file's own, ready for pods (its default ServiceAccount exists). */
export async function testNamespace(prefix: string): Promise<{ name: string; remove(): Promise<void> }> {
  const core = adminConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'wekube.test/namespace': 'true' } } } });
  await waitFor(async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    } catch {
      return false;
    }
  }, 30_000, `default ServiceAccount in ${name}`);
  return {
    name,
    async remove() {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** A kubeconfig that authenticates as a ServiceAccount, with a token from the TokenRequest API. */
export async function serviceAccountConfig(namespace: string, serviceAccount: string): Promise<KubeConfig> {
  const admin = adminConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: serviceAccount, token: token.status!.token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: serviceAccount, namespace }],
    currentContext: 'sa',
  });
  return config;
}
