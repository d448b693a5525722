import { request, type RequestOptions } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { Text } from '../../chat/reply.js';
import type { Config } from '../../config/load.js';
import { apiMessage, type Cluster } from '../../kube/clusters.js';
import { reasonOf, type Registries } from '../../kube/registry.js';

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

/** Why a request failed, in a line: a timeout, the API Status message, or the network's error code. */
export function reasonText(error: unknown): string {
  if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') return 'timeout';
  return ((error as { body?: unknown }).body !== undefined ? apiMessage(error) : reasonOf(error)).split('\n')[0]!.slice(0, 200);
}

/** GET with a deadline over http or https; the body is read up to 8 KiB. Rejects when nothing answers in time. */
export function httpGet(url: string, options: RequestOptions & { timeoutMs: number }): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const send = target.protocol === 'http:' ? plainRequest : request;
    const req = send(target, { ...options, method: 'GET', timeout: options.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 8192) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * GET against one API server address with the environment's credentials (another apiserver than the kubeconfig's
 * server, e.g. each member behind the VIP).
 */
export async function kubeGet(kubeConfig: KubeConfig, url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const options: RequestOptions = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(options);
  return httpGet(url, { ...options, timeoutMs });
}

/** Seconds with one decimal for evidence: 14.2. */
export const seconds = (ms: number): string => (Math.round(ms / 100) / 10).toString();

/** A string or a list of strings, as parameters take one target or several. */
export const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** The holder identity of a leader lease, without the uuid: "cp-a_3f2…" → "cp-a". */
export const holderName = (identity: string | undefined): string => (identity ?? '').split('_')[0] || '—';
