import { z } from 'zod';
import { asList, kubeGet, reasonText, type CheckType } from './kit.js';

/**
 * An API server health endpoint (/readyz, /readyz/etcd, /livez) through the VIP (the environment's server, the
 * default) or against each apiserver address given; by default all must answer 200; with `failing: n` exactly n must not (the apiserver stopped).
 */
export const readyz: CheckType<{ servers?: string | string[]; path: string; failing: number }> = {
  params: z.strictObject({
    servers: z.union([z.string().url(), z.array(z.string().url())]).optional(),
    path: z.string().regex(/^\/(readyz|livez|healthz)(\/[a-z0-9-]+)?$/, 'must be /readyz, /livez or /healthz, optionally with one check (/readyz/etcd)').default('/readyz'),
    failing: z.coerce.number().int().min(0).default(0),
  }),
  async run({ cluster }, params) {
    const servers = params.servers ? asList(params.servers) : [cluster.kubeConfig.getCurrentCluster()!.server];
    const answers = await Promise.all(
      servers.map(async (server) => {
        try {
          const { status } = await kubeGet(cluster.kubeConfig, `${server.replace(/\/$/, '')}${params.path}`, cluster.requestTimeoutMs);
          return { server, ok: status === 200, said: `HTTP ${status}` };
        } catch (error) {
          return { server, ok: false, said: reasonText(error) };
        }
      }),
    );
    const good = answers.filter((answer) => answer.ok).length;
    const expected = servers.length - params.failing;
    return {
      ok: good === expected,
      evidence: { key: 'drill.ev.readyz', params: { path: params.path, good, expected, total: servers.length, detail: answers.map((answer) => `${answer.server} ${answer.said}`).join('; ') } },
    };
  },
};
