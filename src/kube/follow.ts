import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Cluster } from './clusters.js';
import { podProblem, rolloutState, selectorString, type PodProblem } from './rollout.js';

export interface Progress {
  desired: number;
  updated: number;
  available: number;
  message: string;
}

type Ending =
  | { state: 'complete'; progress: Progress; seconds: number }
  | { state: 'failed'; reason: string; message: string; problem?: PodProblem; progress: Progress; seconds: number }
  | { state: 'timeout'; progress: Progress; seconds: number };

/** How a rollout ended, with the Deployment as last seen (no need to read it again). */
export type RolloutOutcome = Ending & { deployment: V1Deployment };

export interface FollowOptions {
  /** Give up waiting (the rollout goes on) after this long. */
  timeoutMs: number;
  /** At most one progress report per interval, and only when the counts change. */
  progressIntervalMs: number;
  onProgress?: (progress: Progress) => void;
  now?: () => number;
}

/**
 * Follows a rollout the way `kubectl rollout status` does, with a watch (one list and one watch each for the
 * Deployment and its pods), and ends early with the reason when the new pods cannot start: ImagePullBackOff,
 * CrashLoopBackOff with the container's last message, a ReplicaSet that cannot create pods (quota), or
 * ProgressDeadlineExceeded.
 */
/** The images of a pod's containers, as one comparable string. */
const imagesOf = (containers: { image?: string }[] | undefined) => (containers ?? []).map((container) => container.image ?? '').join(' ');

export async function followRollout(cluster: Cluster, name: string, options: FollowOptions): Promise<RolloutOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  const namespace = cluster.namespace;
  const first = await cluster.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${name}` });
  let deployment = first.items[0];
  if (!deployment) throw new Error(`deployment ${name} disappeared`);
  const selector = selectorString(deployment.spec?.selector);
  const podList = await cluster.core.listNamespacedPod({ namespace, labelSelector: selector });
  const pods = new Map<string, V1Pod>(podList.items.map((pod) => [pod.metadata!.name!, pod]));

  return new Promise<RolloutOutcome>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let finished = false;
    let lastReported = '';
    let lastReportAt = 0;
    const seconds = () => Math.round((now() - started) / 1000);
    const progress = (d: V1Deployment): Progress => ({
      desired: d.spec?.replicas ?? 1,
      updated: d.status?.updatedReplicas ?? 0,
      available: d.status?.availableReplicas ?? 0,
      message: rolloutState(d).message,
    });
    const finish = (ending: Ending | Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const controller of controllers) controller.abort();
      if (ending instanceof Error) reject(ending);
      else resolve({ ...ending, deployment: deployment! });
    };
    const timer = setTimeout(() => finish({ state: 'timeout', progress: progress(deployment!), seconds: seconds() }), options.timeoutMs);

    const evaluate = () => {
      const d = deployment!;
      const state = rolloutState(d);
      if (state.done) return finish({ state: 'complete', progress: progress(d), seconds: seconds() });
      if (state.failed) return finish({ state: 'failed', reason: state.reason, message: state.message, progress: progress(d), seconds: seconds() });
      const replicaFailure = d.status?.conditions?.find((condition) => condition.type === 'ReplicaFailure' && condition.status === 'True');
      if (replicaFailure) {
        return finish({ state: 'failed', reason: replicaFailure.reason ?? 'FailedCreate', message: replicaFailure.message ?? '', progress: progress(d), seconds: seconds() });
      }
      // Only pods of the template being rolled out count: old pods may be unhealthy for reasons of their own.
      const images = imagesOf(d.spec?.template?.spec?.containers);
      for (const pod of pods.values()) {
        if (imagesOf(pod.spec?.containers) !== images) continue;
        const problem = podProblem(pod);
        if (problem?.failing) {
          return finish({ state: 'failed', reason: problem.reason, message: problem.message, problem, progress: progress(d), seconds: seconds() });
        }
      }
      const current = progress(d);
      const key = `${current.updated}/${current.available}/${current.desired}`;
      if (key !== lastReported && now() - lastReportAt >= options.progressIntervalMs) {
        lastReported = key;
        lastReportAt = now();
        options.onProgress?.(current);
      }
    };

    const watch = async (path: string, query: Record<string, string>, resourceVersion: string | undefined, apply: (phase: string, object: never) => void) => {
      const controller = await cluster.watch.watch(
        path,
        { ...query, resourceVersion, allowWatchBookmarks: true },
        (phase, object) => {
          if (finished || phase === 'BOOKMARK') return;
          apply(phase, object as never);
          evaluate();
        },
        (error) => {
          // The API server keeps a watch for 30 minutes or more, longer than our wait; if one ends early anyway
          // the rollout is reported as still going, and `status` tells the rest.
          if (!finished) {
            if (error && (error as { name?: string }).name !== 'AbortError') finish(error as Error);
            else finish({ state: 'timeout', progress: progress(deployment!), seconds: seconds() });
          }
        },
      );
      controllers.push(controller);
    };

    Promise.all([
      watch(`/apis/apps/v1/namespaces/${namespace}/deployments`, { fieldSelector: `metadata.name=${name}` }, first.metadata?.resourceVersion, (phase, object: V1Deployment) => {
        if (phase !== 'DELETED') deployment = object;
      }),
      watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector }, podList.metadata?.resourceVersion, (phase, object: V1Pod) => {
        if (phase === 'DELETED') pods.delete(object.metadata!.name!);
        else pods.set(object.metadata!.name!, object);
      }),
    ])
      .then(evaluate)
      .catch((error: Error) => finish(error));
  });
}
