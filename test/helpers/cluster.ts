import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Role, type V1RoleBinding } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
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

const RBAC_MANIFEST = new URL('../../deploy/rbac.yaml', import.meta.url);

/**
 * Runs wekube's own RBAC from deploy/rbac.yaml in a test namespace: the ServiceAccount, and the Role and
 * RoleBinding moved into `namespace`. Resolves with a kubeconfig file that authenticates as that ServiceAccount,
 * so the bot under test has exactly the permissions production grants it.
 */
export async function installWekubeRbac(namespace: string, options: { bind?: boolean } = {}): Promise<string> {
  const admin = adminConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const documents = parseAllDocuments(readFileSync(RBAC_MANIFEST, 'utf8')).map((document) => document.toJS() as { kind: string });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'wekube' } } });
  for (const document of documents) {
    if (document.kind === 'Role') {
      const role = document as V1Role;
      role.metadata = { ...role.metadata, namespace };
      await rbac.createNamespacedRole({ namespace, body: role });
    } else if (document.kind === 'RoleBinding' && options.bind !== false) {
      const binding = document as V1RoleBinding;
      binding.metadata = { ...binding.metadata, namespace };
      binding.subjects = binding.subjects?.map((subject) => ({ ...subject, namespace }));
      await rbac.createNamespacedRoleBinding({ namespace, body: binding });
    }
  }
  const config = await serviceAccountConfig(namespace, 'wekube');
  const file = join(mkdtempSync(join(tmpdir(), 'wekube-sa-')), 'kubeconfig');
  writeFileSync(file, config.exportConfig());
  return file;
}
