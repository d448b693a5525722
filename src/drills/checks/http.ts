import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { asList, httpGet, reasonText, type CheckType } from './kit.js';

/**
 * HTTP endpoints answer: Harbor's /api/v2.0/health, a registry's /v2/, an etcd member's /health. `status` is the
 * status wanted, `contains` a text the body must hold; by default every URL must pass, with `failing: n` exactly n
 * must not (a stopped etcd member, a primary registry taken down). `ca`, `cert` and `key` are PEM files, for
 * endpoints that want a client certificate (etcd's client port).
 */
export const http: CheckType<{ urls: string | string[]; status: number; contains?: string; failing: number; insecure: boolean; ca?: string; cert?: string; key?: string; timeout: number }> = {
  params: z.strictObject({
    urls: z.union([z.string().url(), z.array(z.string().url()).min(1)]),
    status: z.number().int().min(100).max(599).default(200),
    contains: z.string().optional(),
    failing: z.coerce.number().int().min(0).default(0),
    insecure: z.boolean().default(false),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    timeout: z.number().int().min(1).max(60).default(5),
  }),
  async run(_context, params) {
    const urls = asList(params.urls);
    const file = (path: string | undefined) => (path ? readFileSync(path) : undefined);
    const tls = { ca: file(params.ca), cert: file(params.cert), key: file(params.key) };
    const answers = await Promise.all(
      urls.map(async (url) => {
        try {
          const answer = await httpGet(url, { timeoutMs: params.timeout * 1000, rejectUnauthorized: !params.insecure, ...tls });
          const ok = answer.status === params.status && (params.contains === undefined || answer.body.includes(params.contains));
          return { url, ok, said: `HTTP ${answer.status}${params.contains !== undefined && !answer.body.includes(params.contains) ? ` (≠ ${params.contains})` : ''}` };
        } catch (error) {
          return { url, ok: false, said: reasonText(error) };
        }
      }),
    );
    const good = answers.filter((answer) => answer.ok).length;
    const expected = urls.length - params.failing;
    return {
      ok: good === expected,
      evidence: { key: 'drill.ev.http', params: { good, expected, total: urls.length, detail: answers.map((answer) => `${answer.url} ${answer.said}`).join('; ') } },
    };
  },
};
