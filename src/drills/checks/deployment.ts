import { z } from 'zod';
import { unreachable, type CheckType } from './kit.js';

/** An app's Deployment is available: at least `minAvailable` (default: all desired) replicas available. */
export const deployment: CheckType<{ app: string; minAvailable?: number }> = {
  params: z.strictObject({ app: z.string().min(1), minAvailable: z.coerce.number().int().min(0).optional() }),
  async run({ cluster }, params) {
    try {
      const found = await cluster.apps.readNamespacedDeployment({ name: params.app, namespace: cluster.namespace });
      const desired = found.spec?.replicas ?? 1;
      const available = found.status?.availableReplicas ?? 0;
      const needed = params.minAvailable ?? desired;
      return { ok: available >= needed, evidence: { key: 'drill.ev.deployment', params: { app: params.app, available, desired, needed } } };
    } catch (error) {
      return unreachable(error);
    }
  },
};
