import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { apiMessage, type Cluster } from './clusters.js';
import { requireDeployment, selectorString } from './rollout.js';

// The everyday reads an SRE expects next to status: the app's events and its pods' logs.

export interface AppEvent {
  object: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  at?: Date;
}

const when = (event: CoreV1Event) => event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp;

/** Whether an event is about the Deployment, one of its ReplicaSets, or one of its pods. */
export function relatedTo(name: string, podNames: Set<string | undefined>): (event: CoreV1Event) => boolean {
  return (event) => {
    const object = event.involvedObject;
    return (object.kind === 'Deployment' && object.name === name) || (object.kind === 'ReplicaSet' && object.name?.startsWith(`${name}-`) === true) || (object.kind === 'Pod' && podNames.has(object.name));
  };
}

export async function appPods(cluster: Cluster, deployment: V1Deployment): Promise<V1Pod[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: selectorString(deployment.spec?.selector) });
  return list.items;
}

/** Recent events of the app, Warning first, then newest first. */
export async function appEvents(cluster: Cluster, name: string, limit = 15): Promise<AppEvent[]> {
  const deployment = await requireDeployment(cluster, name);
  const [pods, events] = await Promise.all([appPods(cluster, deployment), cluster.core.listNamespacedEvent({ namespace: cluster.namespace })]);
  const related = relatedTo(name, new Set(pods.map((pod) => pod.metadata?.name)));
  return events.items
    .filter(related)
    .sort((a, b) => Number(b.type === 'Warning') - Number(a.type === 'Warning') || (when(b)?.valueOf() ?? 0) - (when(a)?.valueOf() ?? 0))
    .slice(0, limit)
    .map((event) => ({ object: `${event.involvedObject.kind}/${event.involvedObject.name}`, type: event.type ?? 'Normal', reason: event.reason ?? '', message: event.message ?? '', count: event.count ?? 1, at: when(event) }));
}

export interface LogChunk {
  pod: string;
  container: string;
  lines: string[];
  /** Why the log could not be read (the node's kubelet did not answer, the container never ran). */
  error?: string;
}

/** Values after these words in a log line are masked: a chat is no place for a password. */
const SECRET = /(?<![a-z0-9])(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization)(["']?\s*[=:]\s*["']?(?:bearer\s+)?)([^\s"',;&]+)/gi;

export function maskSecrets(line: string): string {
  return line.replace(SECRET, (_all, word: string, separator: string) => `${word}${separator}******`);
}

/**
 * The last lines of the app's pods (or one pod), per container, newest last; at most `limitBytes` of each. Only
 * the containers of the pods the Deployment selects, so a pod name from another app is refused by the caller.
 */
export async function appLogs(
  cluster: Cluster,
  name: string,
  options: { pod?: string; previous: boolean; sinceSeconds?: number; tailLines: number; limitBytes: number },
): Promise<{ chunks: LogChunk[]; pods: string[] }> {
  const deployment = await requireDeployment(cluster, name);
  const pods = (await appPods(cluster, deployment)).filter((pod) => !pod.metadata?.deletionTimestamp);
  const names = pods.map((pod) => pod.metadata!.name!);
  const chosen = options.pod ? pods.filter((pod) => pod.metadata?.name === options.pod) : pods.slice(0, 3);
  const chunks: LogChunk[] = [];
  for (const pod of chosen) {
    for (const container of pod.spec?.containers ?? []) {
      const chunk: LogChunk = { pod: pod.metadata!.name!, container: container.name, lines: [] };
      try {
        const text = await cluster.core.readNamespacedPodLog({
          name: chunk.pod,
          namespace: cluster.namespace,
          container: container.name,
          previous: options.previous,
          sinceSeconds: options.sinceSeconds,
          tailLines: options.tailLines,
          limitBytes: options.limitBytes,
        });
        chunk.lines = String(text ?? '').split('\n').filter((line) => line.length > 0).map(maskSecrets);
      } catch (error) {
        // A 4xx/5xx from the log proxy is about this container (no previous run, kubelet unreachable): say so and
        // go on; a request that never got an answer is about the cluster, and the caller reports it.
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'number') throw error;
        if (code === 403) throw error;
        chunk.error = maskSecrets(apiMessage(error)).slice(0, 200);
      }
      chunks.push(chunk);
    }
  }
  return { chunks, pods: names };
}
