import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { Text } from '../../chat/reply.js';
import type { Config } from '../../config/load.js';
import type { Cluster } from '../../kube/clusters.js';
import type { Registries } from '../../kube/registry.js';

/** What a check runs with: the environment's cluster under the bot's own credentials, and the run it belongs to. */
export interface CheckContext {
  cluster: Cluster;
  config: Config;
  registries: Registries;
  runId: string;
  now(): number;
}

export interface CheckResult {
  ok: boolean;
  /** What the check saw, for the chat and the report: "3/3 节点 Ready". */
  evidence: Text;
  /** Figures the report uses (a failover time in ms). */
  figures?: Record<string, number>;
}

export interface CheckType<P> {
  params: z.ZodType<P>;
  /** Taken when the step begins and again when the human says done (what "moved" or "changed" compares with). */
  baseline?(context: CheckContext, params: P): Promise<unknown>;
  /** Which baseline to keep when it is taken again at done (default: the newer one). */
  rebase?(before: unknown, now: unknown): unknown;
  run(context: CheckContext, params: P, baseline: unknown): Promise<CheckResult>;
}

/** A check that could not ask (API down, timeout) fails with the reason as its evidence. */
export function unreachable(error: unknown): CheckResult {
  return { ok: false, evidence: { key: 'drill.ev.error', params: { reason: reasonText(error) } } };
}

export function reasonText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') return 'timeout';
  const body = (error as { body?: unknown }).body;
  const message = typeof body === 'string' ? (() => { try { return (JSON.parse(body) as { message?: string }).message; } catch { return undefined; } })() : (body as { message?: string } | undefined)?.message;
  return (message ?? cause?.code ?? cause?.message ?? (error as Error).message ?? String(error)).split('\n')[0]!.slice(0, 200);
}

/**
 * GET against one API server address with the environment's credentials (another apiserver than the kubeconfig's
 * server, e.g. each member behind the VIP). Resolves with the status; rejects when nothing answers in time.
 */
export async function kubeGet(kubeConfig: KubeConfig, url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const options: import('node:https').RequestOptions = { method: 'GET', timeout: timeoutMs, headers: {} };
  await kubeConfig.applyToHTTPSOptions(options);
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const send = target.protocol === 'http:' ? plainRequest : request;
    const req = send(target, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end();
  });
}

/** Seconds with one decimal for evidence: 14.2. */
export const seconds = (ms: number): string => (Math.round(ms / 100) / 10).toString();

/** A string or a list of strings, as parameters take one target or several. */
export const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** The holder identity of a leader lease, without the uuid: "cp-a_3f2…" → "cp-a". */
export const holderName = (identity: string | undefined): string => (identity ?? '').split('_')[0] || '—';
