import { z } from 'zod';
import type { V1Pod } from '@kubernetes/client-node';
import { unreachable, type CheckType } from './kit.js';

const runningAndReady = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');

/**
 * Pods of an app (or a selector) running and ready: at least `min` (default: the app's desired replicas, else 1),
 * and with `notOnNode` none of the live ones on that node (its pods were replaced elsewhere).
 */
export const pods: CheckType<{ app?: string; selector?: string; namespace?: string; min?: number; notOnNode?: string }> = {
  params: z
    .strictObject({ app: z.string().optional(), selector: z.string().optional(), namespace: z.string().optional(), min: z.coerce.number().int().min(0).optional(), notOnNode: z.string().optional() })
    .refine((params) => params.app || params.selector, { message: 'needs app or selector' }),
  async run({ cluster }, params) {
    try {
      const namespace = params.namespace ?? cluster.namespace;
      const labelSelector = params.selector ?? `app=${params.app}`;
      const items = (await cluster.core.listNamespacedPod({ namespace, labelSelector })).items;
      const min = params.min ?? (params.app ? ((await cluster.apps.readNamespacedDeployment({ name: params.app, namespace })).spec?.replicas ?? 1) : 1);
      const ready = items.filter(runningAndReady);
      const onNode = params.notOnNode ? items.filter((pod) => !pod.metadata?.deletionTimestamp && pod.spec?.nodeName === params.notOnNode) : [];
      const ok = ready.length >= min && onNode.length === 0;
      return {
        ok,
        evidence: {
          key: params.notOnNode ? 'drill.ev.podsElsewhere' : 'drill.ev.pods',
          params: { what: params.app ?? labelSelector, ready: ready.length, min, node: params.notOnNode ?? '', left: onNode.length },
        },
      };
    } catch (error) {
      return unreachable(error);
    }
  },
};

/** A node drained: only DaemonSet and mirror pods (and pods already being deleted) are left on it. */
export const drained: CheckType<{ node: string }> = {
  params: z.strictObject({ node: z.string().min(1) }),
  async run({ cluster }, params) {
    try {
      const items = (await cluster.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${params.node}` })).items;
      const left = items.filter(
        (pod) =>
          !pod.metadata?.deletionTimestamp &&
          !pod.metadata?.annotations?.['kubernetes.io/config.mirror'] &&
          !(pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'DaemonSet'),
      );
      return {
        ok: left.length === 0,
        evidence: { key: 'drill.ev.drained', params: { node: params.node, left: left.length, pods: left.slice(0, 5).map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`).join(', ') || '—' } },
      };
    } catch (error) {
      return unreachable(error);
    }
  },
};
