import { z } from 'zod';
import type { V1Node } from '@kubernetes/client-node';
import { asList, unreachable, type CheckType } from './kit.js';

const readiness = (node: V1Node): string => node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? 'Unknown';

/** Nodes Ready (all, a count, or named ones), or named nodes NotReady during a node-failure drill; optionally (un)cordoned. */
export const nodes: CheckType<{ names?: string | string[]; selector?: string; ready: boolean; count?: number; schedulable?: boolean }> = {
  params: z.strictObject({
    names: z.union([z.string(), z.array(z.string())]).optional(),
    selector: z.string().optional(),
    ready: z.boolean().default(true),
    count: z.coerce.number().int().min(0).optional(),
    schedulable: z.boolean().optional(),
  }),
  async run({ cluster }, params) {
    try {
      const list = (await cluster.core.listNode({ labelSelector: params.selector })).items;
      const wanted = params.names ? asList(params.names) : undefined;
      const selected = wanted ? list.filter((node) => wanted.includes(node.metadata?.name ?? '')) : list;
      const missing = (wanted ?? []).filter((name) => !selected.some((node) => node.metadata?.name === name));
      const matches = (node: V1Node) =>
        (readiness(node) === 'True') === params.ready && (params.schedulable === undefined || !node.spec?.unschedulable === params.schedulable);
      const good = selected.filter(matches);
      const ok = missing.length === 0 && (params.count !== undefined ? good.length >= params.count : good.length === selected.length && selected.length > 0);
      const odd = selected.filter((node) => !matches(node)).map((node) => `${node.metadata?.name}: ${readiness(node) === 'True' ? 'Ready' : `NotReady(${readiness(node)})`}${node.spec?.unschedulable ? ', cordoned' : ''}`);
      return {
        ok,
        evidence: {
          key: params.ready ? 'drill.ev.nodesReady' : 'drill.ev.nodesNotReady',
          params: { good: good.length, total: params.count ?? (wanted ? wanted.length : selected.length), odd: [...odd, ...missing.map((name) => `${name}: ?`)].join('; ') || '—' },
        },
      };
    } catch (error) {
      return unreachable(error);
    }
  },
};
