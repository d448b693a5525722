import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1ClusterRole, type V1ClusterRoleBinding, type V1Role, type V1RoleBinding } from '@kubernetes/client-node';
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
export async function serviceAccountConfig(namespace: string, serviceAccount: string, admin = adminConfig()): Promise<KubeConfig> {
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
export const DRILL_RBAC_MANIFEST = new URL('../../deploy/rbac-drills.yaml', import.meta.url);

/**
 * Runs wekube's own RBAC from deploy/rbac.yaml (and any more manifests, such as rbac-drills.yaml) in a test
 * namespace: the ServiceAccount, the app namespace's Roles and RoleBindings moved into `namespace`, kube-system's
 * and the cluster-wide ones as they are. Resolves with a kubeconfig file that authenticates as that
 * ServiceAccount, so the bot under test has exactly the permissions production grants it.
 */
export async function installWekubeRbac(namespace: string, options: { bind?: boolean; admin?: KubeConfig; manifests?: URL[] } = {}): Promise<string> {
  const admin = options.admin ?? adminConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const documents = [RBAC_MANIFEST, ...(options.manifests ?? [])].flatMap((manifest) => parseAllDocuments(readFileSync(manifest, 'utf8')).map((document) => document.toJS() as { kind: string; metadata?: { namespace?: string } }));
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'wekube' } } });
  const place = (document: { metadata?: { namespace?: string } }) => (document.metadata?.namespace === 'kube-system' ? 'kube-system' : namespace);
  const subjects = (binding: V1RoleBinding | V1ClusterRoleBinding) => binding.subjects?.map((subject) => ({ ...subject, namespace }));
  for (const document of documents) {
    if (document.kind === 'Role') {
      const role = document as V1Role;
      role.metadata = { ...role.metadata, namespace: place(document) };
      await rbac.createNamespacedRole({ namespace: place(document), body: role });
    } else if (document.kind === 'RoleBinding' && options.bind !== false) {
      const binding = document as V1RoleBinding;
      binding.metadata = { ...binding.metadata, namespace: place(document) };
      binding.subjects = subjects(binding);
      await rbac.createNamespacedRoleBinding({ namespace: place(document), body: binding });
    } else if (document.kind === 'ClusterRole') {
      await rbac.createClusterRole({ body: document as V1ClusterRole });
    } else if (document.kind === 'ClusterRoleBinding' && options.bind !== false) {
      const binding = document as V1ClusterRoleBinding;
      binding.subjects = subjects(binding);
      await rbac.createClusterRoleBinding({ body: binding });
    }
  }
  const config = await serviceAccountConfig(namespace, 'wekube', admin);
  const file = join(mkdtempSync(join(tmpdir(), 'wekube-sa-')), 'kubeconfig');
  writeFileSync(file, config.exportConfig());
  return file;
}
