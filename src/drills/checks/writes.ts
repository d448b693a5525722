import { z } from 'zod';
import { seconds, unreachable, type CheckType } from './kit.js';

/**
 * A canary write commits: create and delete a ConfigMap in the environment's namespace (quorum holds). The time the
 * write took is evidence: under etcd trouble it grows before it fails.
 */
export const writes: CheckType<{ namespace?: string }> = {
  params: z.strictObject({ namespace: z.string().optional() }),
  async run({ cluster, runId, now }, params) {
    const namespace = params.namespace ?? cluster.namespace;
    const name = `wekube-drill-canary-${runId}-${now().toString(36)}`;
    const started = Date.now();
    try {
      await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'wekube', 'wekube.io/drill': 'canary' } }, data: { at: new Date(now()).toISOString() } } });
      await cluster.core.deleteNamespacedConfigMap({ name, namespace });
      const ms = Date.now() - started;
      return { ok: true, evidence: { key: 'drill.ev.write', params: { seconds: seconds(ms), ms } }, figures: { writeMs: ms } };
    } catch (error) {
      return unreachable(error);
    }
  },
};

/**
 * Marker objects that prove a restore happened (drill-checks C19): `create` writes ConfigMap
 * wekube-drill-<run>-<name>; `present` and `absent` read it back. Before the backup one is created and after it
 * another; after the restore the first must be present and the second absent.
 */
export const marker: CheckType<{ name: string; expect: 'create' | 'present' | 'absent' }> = {
  params: z.strictObject({ name: z.string().regex(/^[a-z0-9][-a-z0-9]{0,30}$/), expect: z.enum(['create', 'present', 'absent']) }),
  async run({ cluster, runId, now }, params) {
    const name = `wekube-drill-${runId}-${params.name}`;
    const namespace = cluster.namespace;
    try {
      if (params.expect === 'create') {
        await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'wekube', 'wekube.io/drill': 'marker' } }, data: { at: new Date(now()).toISOString() } } }).catch((error: { code?: number }) => {
          if (error.code !== 409) throw error;
        });
        return { ok: true, evidence: { key: 'drill.ev.markerCreated', params: { name } } };
      }
      const present = await cluster.core.readNamespacedConfigMap({ name, namespace }).then(
        () => true,
        (error: { code?: number }) => {
          if (error.code === 404) return false;
          throw error;
        },
      );
      const ok = present === (params.expect === 'present');
      return { ok, evidence: { key: present ? 'drill.ev.markerPresent' : 'drill.ev.markerAbsent', params: { name } } };
    } catch (error) {
      return unreachable(error);
    }
  },
};
