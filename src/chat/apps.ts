import { own } from '../config/own.js';
import type { AppConfig } from '../config/schema.js';
import { apiMessage, type Cluster } from '../kube/clusters.js';
import { RolloutError } from '../kube/rollout.js';
import type { CommandContext } from './command.js';
import { joinList } from './i18n.js';
import { excerpt } from './parse.js';
import { UserError } from './reply.js';

// What the Kubernetes commands share: finding the app, reaching its cluster, and turning what Kubernetes says
// into refusals a user can act on.

export function requireApp(context: CommandContext, name: string): { name: string; app: AppConfig } {
  const lowered = name.toLowerCase();
  const app = own(context.config.apps, lowered);
  if (!app) {
    const known = Object.keys(context.config.apps);
    throw new UserError(known.length ? 'app.unknown' : 'app.none', { app: excerpt(name), apps: joinList(context.locale, known) });
  }
  return { name: lowered, app };
}

/** Runs cluster work in the context's environment; API failures become refusals that say what to do. */
export async function inCluster<T>(context: CommandContext, work: (cluster: Cluster) => Promise<T>): Promise<T> {
  const environment = context.environment;
  let cluster: Cluster;
  try {
    cluster = context.services.clusters.get(environment);
  } catch (error) {
    throw new UserError('kube.misconfigured', { env: environment, detail: (error as Error).message });
  }
  try {
    return await work(cluster);
  } catch (error) {
    throw kubeRefusal(error, environment, cluster.namespace, cluster.requestTimeoutMs);
  }
}

function kubeRefusal(error: unknown, environment: string, namespace: string, timeoutMs: number): unknown {
  if (error instanceof UserError) return error;
  if (error instanceof RolloutError) {
    const detail = { env: environment, namespace, ...error.detail };
    switch (error.code) {
      case 'not-found':
        return new UserError('kube.notDeployed', detail);
      case 'paused':
        return new UserError('kube.paused', detail);
      case 'no-history':
        return new UserError('rollback.noHistory', detail);
      case 'revision-not-found':
        return new UserError('rollback.noRevision', detail);
      case 'restart-too-soon':
        return new UserError('restart.tooSoon', detail);
    }
  }
  const code = (error as { code?: number | string }).code;
  if (code === 401) return new UserError('kube.unauthorized', { env: environment });
  if (code === 403) return new UserError('kube.forbidden', { env: environment, namespace, detail: apiMessage(error) });
  if (code === 404 && /namespaces? "[^"]*" not found/.test(apiMessage(error))) return new UserError('kube.noNamespace', { env: environment, namespace });
  if (code === 409) return new UserError('kube.conflict', { env: environment });
  if (code === 422 || code === 400) return new UserError('kube.invalid', { env: environment, detail: apiMessage(error) });
  return transportRefusal(error, environment, timeoutMs) ?? error;
}

/** A request that never got an HTTP answer: timed out, refused, not resolvable, or a certificate that does not verify. */
function transportRefusal(error: unknown, environment: string, timeoutMs: number): UserError | undefined {
  const chain: { name?: string; code?: string; message?: string }[] = [];
  for (let cause = error as { cause?: unknown } | undefined; cause && chain.length < 5; cause = cause.cause as typeof cause) chain.push(cause as (typeof chain)[number]);
  const text = chain.map((item) => `${item.name ?? ''} ${item.code ?? ''} ${item.message ?? ''}`).join(' ');
  if (/AbortError|TimeoutError|aborted|ETIMEDOUT|ESOCKETTIMEDOUT/i.test(text)) return new UserError('kube.timeout', { env: environment, seconds: Math.round(timeoutMs / 1000) });
  if (/ECONNREFUSED/.test(text)) return new UserError('kube.refused', { env: environment });
  if (/CERT|certificate|self[- ]signed|UNABLE_TO_VERIFY|ERR_TLS/i.test(text)) return new UserError('kube.certificate', { env: environment, detail: /[A-Z_]*CERT[A-Z_]*|self[- ]signed[^,;]*/i.exec(text)?.[0] ?? 'TLS' });
  if (/ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|socket hang up/i.test(text)) {
    return new UserError('kube.unreachable', { env: environment, detail: /ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|socket hang up/i.exec(text)![0] });
  }
  return undefined;
}

/** The change-cause every mutation writes, so `history` shows who did what from WeCom. */
export const changeCause = (context: CommandContext, text: string) => `wecom:${context.user.id} ${text}`;
