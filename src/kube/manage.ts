import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { AppConfig } from '../config/schema.js';
import { own } from '../config/own.js';
import type { Cluster } from './clusters.js';
import { CHANGE_CAUSE, FIELD_MANAGER, plain } from './rollout.js';

// How wekube changes an app's Deployment, and when it must not. Teams arrive with apps that Jenkins, Helm, kubectl
// or an old release platform created: their selectors, container names and sidecars are not the template's, and
// applying the template over them either fails (the selector is immutable) or adds a second container. Such apps
// are changed the way `kubectl set image` changes them: one container's image, nothing else.

export type ManageMode = 'template' | 'image';

export interface ManageDecision {
  mode: ManageMode;
  /** Why: set in config, a Deployment wekube created, one something else created, or none yet. */
  why: 'config' | 'ours' | 'foreign' | 'new';
}

/** The label the generic template puts on what wekube created. */
const MANAGED_BY = 'app.kubernetes.io/managed-by';

/** Whether wekube created (applies) this Deployment: its label, or its field manager applying it. */
export function createdByWekube(deployment: V1Deployment): boolean {
  if (deployment.metadata?.labels?.[MANAGED_BY] === 'wekube') return true;
  return deployment.metadata?.managedFields?.some((entry) => entry.manager === FIELD_MANAGER && entry.operation === 'Apply') ?? false;
}

export function manageMode(app: AppConfig, environment: string, existing: V1Deployment | undefined): ManageDecision {
  const configured = typeof app.manage === 'string' ? app.manage : app.manage ? (own(app.manage, environment) ?? app.manage.default) : undefined;
  if (configured) return { mode: configured, why: 'config' };
  if (!existing) return { mode: 'template', why: 'new' };
  return createdByWekube(existing) ? { mode: 'template', why: 'ours' } : { mode: 'image', why: 'foreign' };
}

/** Argo CD, Flux or an owner reference: something that will put its own version back after wekube's change. */
export function externalOwner(deployment: V1Deployment): string | undefined {
  const labels = deployment.metadata?.labels ?? {};
  const annotations = deployment.metadata?.annotations ?? {};
  if (annotations['argocd.argoproj.io/tracking-id'] || labels['argocd.argoproj.io/instance']) return 'Argo CD';
  if (Object.keys(labels).some((key) => key.endsWith('.toolkit.fluxcd.io/name'))) return 'Flux';
  const owner = deployment.metadata?.ownerReferences?.[0];
  if (owner) return `${owner.kind}/${owner.name}`;
  return undefined;
}

/** Fields the API server refuses to change on an existing Deployment, that the rendered one would change. */
export function immutableChanges(existing: V1Deployment, rendered: V1Deployment): string[] {
  const changes: string[] = [];
  if (!isDeepStrictEqual(plain(existing.spec?.selector), plain(rendered.spec?.selector))) changes.push('spec.selector');
  return changes;
}

/**
 * `kubectl set image` for one container: a strategic merge patch that names the container (its merge key) and
 * its new image, and the change-cause for history; nothing else in the Deployment changes. The resourceVersion
 * read with the plan makes the write fail (409) if the Deployment changed in between.
 */
export async function setImage(cluster: Cluster, name: string, container: string, image: string, changeCause: string, resourceVersion: string | undefined): Promise<void> {
  await cluster.apps.patchNamespacedDeployment(
    {
      name,
      namespace: cluster.namespace,
      fieldManager: FIELD_MANAGER,
      body: {
        metadata: { ...(resourceVersion ? { resourceVersion } : {}), annotations: { [CHANGE_CAUSE]: changeCause } },
        spec: { template: { spec: { containers: [{ name: container, image }] } } },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}
