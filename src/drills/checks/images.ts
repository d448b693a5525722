import { z } from 'zod';
import { imageOf } from '../../kube/rollout.js';
import { asList, unreachable, type CheckType } from './kit.js';

/** "harbor.example.com/shop/app:1.4.2" → the image and its tag (digests are left as they are). */
function splitTag(reference: string): { image: string; tag: string } | undefined {
  const at = reference.indexOf('@');
  if (at >= 0) return { image: reference.slice(0, at), tag: reference.slice(at + 1) };
  const colon = reference.lastIndexOf(':');
  if (colon <= reference.lastIndexOf('/')) return { image: reference, tag: 'latest' };
  return { image: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}

/**
 * A registry (a replica during a Harbor failover) holds the images: those given, or by default the images the
 * environment's apps run now (read from their Deployments).
 */
export const images: CheckType<{ registry: string; images?: string | string[] }> = {
  params: z.strictObject({ registry: z.string().min(1), images: z.union([z.string(), z.array(z.string())]).optional() }),
  async run({ cluster, config, registries }, params) {
    let references: string[];
    try {
      if (params.images) references = asList(params.images);
      else {
        references = [];
        for (const [name, app] of Object.entries(config.apps)) {
          const found = await cluster.apps.readNamespacedDeployment({ name, namespace: cluster.namespace }).catch((error: { code?: number }) => {
            if (error.code === 404) return undefined;
            throw error;
          });
          const image = found && imageOf(found.spec?.template, name, app.container);
          if (image) references.push(image);
        }
      }
    } catch (error) {
      return unreachable(error);
    }
    const results = await Promise.all(
      references.map(async (reference) => {
        const parts = splitTag(reference);
        const answer = parts ? await registries.holds(params.registry, parts.image, parts.tag) : { unknown: true as const, reason: 'no tag' };
        return { reference, found: 'found' in answer && answer.found, said: 'unknown' in answer ? answer.reason : 'found' in answer && answer.found ? 'ok' : 'missing' };
      }),
    );
    const found = results.filter((result) => result.found).length;
    const missing = results.filter((result) => !result.found).map((result) => `${result.reference} (${result.said})`);
    return {
      ok: references.length > 0 && found === references.length,
      evidence: { key: 'drill.ev.images', params: { registry: params.registry, found, total: references.length, missing: missing.slice(0, 5).join('; ') || '—' } },
    };
  },
};
