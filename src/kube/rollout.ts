import { isDeepStrictEqual } from 'node:util';
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubernetesObject,
  type V1Deployment,
  type V1Container,
  type V1LabelSelector,
  type V1Pod,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type { Cluster } from './clusters.js';
import { appPods, relatedTo } from './reads.js';

// Rollout operations with kubectl's semantics (../shared/reference/kubectl-semantics.md §1), one small named
// function each. What kubectl refuses is a RolloutError with a code; commands turn the code into words.

export const REVISION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const FIELD_MANAGER = 'wekube';

/** Annotations an undo keeps from the Deployment instead of taking them from the ReplicaSet (kubectl's skip list). */
const UNDO_KEEP = [
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

export type RolloutErrorCode = 'not-found' | 'paused' | 'no-history' | 'revision-not-found' | 'restart-too-soon';

export class RolloutError extends Error {
  constructor(
    readonly code: RolloutErrorCode,
    readonly detail: Record<string, string | number> = {},
  ) {
    super(`${code} ${JSON.stringify(detail)}`);
    this.name = 'RolloutError';
  }
}

const status = (error: unknown) => (error as { code?: number }).code;

export async function getDeployment(cluster: Cluster, name: string): Promise<V1Deployment | undefined> {
  try {
    return await cluster.apps.readNamespacedDeployment({ name, namespace: cluster.namespace });
  } catch (error) {
    if (status(error) === 404) return undefined;
    throw error;
  }
}

export async function requireDeployment(cluster: Cluster, name: string): Promise<V1Deployment> {
  const deployment = await getDeployment(cluster, name);
  if (!deployment) throw new RolloutError('not-found', { app: name, namespace: cluster.namespace });
  return deployment;
}

export const revisionOf = (object: KubernetesObject | undefined): number => Number(object?.metadata?.annotations?.[REVISION] ?? 0);
export type ContainerChoice = { ok: true; container: V1Container } | { ok: false; problem: 'missing' | 'ambiguous'; wanted?: string; containers: string[] };

/** The container a deploy changes: the one named in config, else the app's namesake, else the only one. */
export function chooseContainer(template: V1PodTemplateSpec | undefined, wanted: string | undefined, app: string): ContainerChoice {
  const containers = template?.spec?.containers ?? [];
  const names = containers.map((container) => container.name);
  if (wanted) {
    const found = containers.find((container) => container.name === wanted);
    return found ? { ok: true, container: found } : { ok: false, problem: 'missing', wanted, containers: names };
  }
  const namesake = containers.find((container) => container.name === app);
  if (namesake) return { ok: true, container: namesake };
  if (containers.length === 1) return { ok: true, container: containers[0]! };
  return { ok: false, problem: 'ambiguous', containers: names };
}

/**
 * The image the app's container runs (registry/repository:tag or @digest). A Deployment wekube did not create may
 * hold sidecars; where the app's container cannot be told, the first one's image is shown.
 */
export function imageOf(template: V1PodTemplateSpec | undefined, app: string, container?: string): string {
  const choice = chooseContainer(template, container, app);
  const containers = template?.spec?.containers ?? [];
  return (choice.ok ? choice.container : (containers.find((c) => c.name === app) ?? containers[0]))?.image ?? '';
}

/** The tag of an image reference ("repo/x:1.4" → "1.4"; a digest is shown short). */
export function tagOf(image: string): string {
  const digest = image.indexOf('@');
  if (digest >= 0) return image.slice(digest + 1, digest + 20);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
}

export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector?.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    if (expression.operator === 'In') parts.push(`${expression.key} in (${values})`);
    else if (expression.operator === 'NotIn') parts.push(`${expression.key} notin (${values})`);
    else if (expression.operator === 'Exists') parts.push(expression.key);
    else if (expression.operator === 'DoesNotExist') parts.push(`!${expression.key}`);
  }
  return parts.join(',');
}

/** ReplicaSets the Deployment controls: matched by its selector and owned by it (label matches alone are not enough). */
export async function ownedReplicaSets(cluster: Cluster, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
  const list = await cluster.apps.listNamespacedReplicaSet({ namespace: cluster.namespace, labelSelector: selectorString(deployment.spec?.selector) });
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((owner) => owner.controller && owner.uid === deployment.metadata?.uid));
}

export const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null)) as T;

/** A pod template without the controller's pod-template-hash label, as plain data. */
function withoutHash(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = plain(template) ?? {};
  if (copy.metadata?.labels) {
    delete copy.metadata.labels['pod-template-hash'];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
}

export const sameTemplate = (a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined) => isDeepStrictEqual(withoutHash(a), withoutHash(b));

/** Server-side apply of rendered objects, field manager "wekube". */
export async function apply(cluster: Cluster, objects: KubernetesObject[]): Promise<void> {
  for (const object of objects) {
    await cluster.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
}

/**
 * Where an undo goes, as kubectl chooses it: the ReplicaSet of the revision given, or of the second-highest one.
 * Refused when there is none, and on a paused Deployment.
 */
export async function rollbackTarget(cluster: Cluster, name: string, toRevision: number | undefined): Promise<{ deployment: V1Deployment; target: V1ReplicaSet }> {
  const deployment = await requireDeployment(cluster, name);
  const sets = await ownedReplicaSets(cluster, deployment);
  let target: V1ReplicaSet | undefined;
  if (toRevision) {
    target = sets.find((rs) => revisionOf(rs) === toRevision);
    if (!target) throw new RolloutError('revision-not-found', { app: name, revision: toRevision, revisions: sets.map(revisionOf).sort((a, b) => a - b).join(', ') });
  } else {
    target = [...sets].sort((a, b) => revisionOf(b) - revisionOf(a))[1];
    if (!target) throw new RolloutError('no-history', { app: name });
  }
  if (deployment.spec?.paused) throw new RolloutError('paused', { app: name });
  return { deployment, target };
}

export type UndoResult =
  | { outcome: 'rolled-back'; fromRevision: number; toRevision: number; image: string }
  | { outcome: 'skipped'; revision: number };

/**
 * `kubectl rollout undo`: the second-highest revision (or the one given); refused on a paused Deployment; skipped
 * when the current template already matches; otherwise one JSON patch replacing the template and the annotations
 * (kept from the Deployment for the skip list, taken from the ReplicaSet otherwise) — plus our change-cause.
 */
export async function undo(cluster: Cluster, name: string, toRevision: number | undefined, changeCause: string, container?: string): Promise<UndoResult> {
  const { deployment, target } = await rollbackTarget(cluster, name, toRevision);
  const current = revisionOf(deployment);
  if (sameTemplate(target.spec?.template, deployment.spec?.template)) return { outcome: 'skipped', revision: revisionOf(target) };

  const template = withoutHash(target.spec?.template);
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(target.metadata?.annotations ?? {})) if (!UNDO_KEEP.includes(key)) annotations[key] = value;
  for (const key of UNDO_KEEP) {
    const value = deployment.metadata?.annotations?.[key];
    if (value !== undefined) annotations[key] = value;
  }
  annotations[CHANGE_CAUSE] = changeCause;
  await cluster.apps.patchNamespacedDeployment(
    {
      name,
      namespace: cluster.namespace,
      fieldManager: FIELD_MANAGER,
      body: [
        // Not in kubectl: a guard against a change made between our read and this write.
        { op: 'test', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion },
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return { outcome: 'rolled-back', fromRevision: current, toRevision: revisionOf(target), image: imageOf(target.spec?.template, name, container) };
}

/** `kubectl rollout restart`: refused on a paused Deployment; sets restartedAt (RFC 3339, seconds) on the template. */
export async function restart(cluster: Cluster, name: string, at: Date, changeCause: string): Promise<void> {
  const deployment = await requireDeployment(cluster, name);
  if (deployment.spec?.paused) throw new RolloutError('paused', { app: name });
  const restartedAt = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (deployment.spec?.template?.metadata?.annotations?.[RESTARTED_AT] === restartedAt) throw new RolloutError('restart-too-soon', { app: name });
  await cluster.apps.patchNamespacedDeployment(
    {
      name,
      namespace: cluster.namespace,
      fieldManager: FIELD_MANAGER,
      body: {
        metadata: { annotations: { [CHANGE_CAUSE]: changeCause } },
        spec: { template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } } },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

/** `kubectl scale`: a merge patch on the scale subresource, retried only on 409 Conflict. */
export async function scale(cluster: Cluster, name: string, replicas: number): Promise<{ from: number; to: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const before = await cluster.apps.readNamespacedDeploymentScale({ name, namespace: cluster.namespace });
      await cluster.apps.patchNamespacedDeploymentScale(
        { name, namespace: cluster.namespace, fieldManager: FIELD_MANAGER, body: { spec: { replicas } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return { from: before.spec?.replicas ?? 0, to: replicas };
    } catch (error) {
      if (status(error) === 404) throw new RolloutError('not-found', { app: name, namespace: cluster.namespace });
      if (status(error) !== 409 || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The HorizontalPodAutoscaler that owns the Deployment's replicas, if any (a manual scale would be overridden). */
export async function autoscalerFor(cluster: Cluster, name: string): Promise<{ name: string; min: number; max: number } | undefined> {
  const list = await cluster.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: cluster.namespace });
  const hpa = list.items.find((item) => item.spec?.scaleTargetRef.kind === 'Deployment' && item.spec.scaleTargetRef.name === name);
  return hpa ? { name: hpa.metadata?.name ?? '', min: hpa.spec?.minReplicas ?? 1, max: hpa.spec?.maxReplicas ?? 0 } : undefined;
}

export type RolloutState =
  | { done: true; message: string }
  | { done: false; failed?: false; message: string; waitingFor: 'spec' | 'updated' | 'old' | 'available'; counts: { current: number; of: number } }
  | { done: false; failed: true; reason: string; message: string };

/** `kubectl rollout status` for a Deployment, rule for rule. */
export function rolloutState(deployment: V1Deployment): RolloutState {
  const spec = deployment.spec;
  const s = deployment.status ?? {};
  const desired = spec?.replicas ?? 1;
  if ((deployment.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) {
    return { done: false, message: 'waiting for the deployment spec update to be observed', waitingFor: 'spec', counts: { current: 0, of: 0 } };
  }
  const progressing = s.conditions?.find((condition) => condition.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { done: false, failed: true, reason: 'ProgressDeadlineExceeded', message: progressing.message ?? '' };
  }
  const updated = s.updatedReplicas ?? 0;
  if (updated < desired) return { done: false, message: `${updated} of ${desired} new replicas updated`, waitingFor: 'updated', counts: { current: updated, of: desired } };
  if ((s.replicas ?? 0) > updated) {
    return { done: false, message: `${(s.replicas ?? 0) - updated} old replicas pending termination`, waitingFor: 'old', counts: { current: (s.replicas ?? 0) - updated, of: s.replicas ?? 0 } };
  }
  if ((s.availableReplicas ?? 0) < updated) {
    return { done: false, message: `${s.availableReplicas ?? 0} of ${updated} updated replicas available`, waitingFor: 'available', counts: { current: s.availableReplicas ?? 0, of: updated } };
  }
  return { done: true, message: 'successfully rolled out' };
}

/** Container states a human must hear about at once, with what they mean. */
const FAILING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export interface PodProblem {
  pod: string;
  reason: string;
  message: string;
  restarts: number;
  /** The last message of a container that terminated (why it crashed). */
  lastMessage?: string;
  failing: boolean;
}

/** Why a pod is not Ready, in the words kubectl get pods would use. */
export function podProblem(pod: V1Pod): PodProblem | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'True';
  if (ready) return undefined;
  const name = pod.metadata?.name ?? '';
  for (const container of pod.status?.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    const terminated = container.state?.terminated;
    const last = container.lastState?.terminated;
    const reason = waiting?.reason ?? terminated?.reason;
    if (reason) {
      return {
        pod: name,
        reason,
        message: waiting?.message ?? terminated?.message ?? '',
        restarts: container.restartCount ?? 0,
        lastMessage: last?.message ?? last?.reason,
        failing: FAILING.has(reason),
      };
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { pod: name, reason: scheduled.reason ?? 'Unschedulable', message: scheduled.message ?? '', restarts: 0, failing: false };
  return { pod: name, reason: pod.status?.phase ?? 'Pending', message: '', restarts: 0, failing: false };
}

export interface StatusReport {
  name: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
  image: string;
  revision: number;
  paused: boolean;
  state: RolloutState;
  problems: PodProblem[];
  warnings: { object: string; reason: string; message: string; count: number; at?: Date }[];
  autoscaler?: { name: string; min: number; max: number };
}

export async function statusReport(cluster: Cluster, name: string, container?: string): Promise<StatusReport> {
  const deployment = await requireDeployment(cluster, name);
  const [pods, events, autoscaler] = await Promise.all([
    appPods(cluster, deployment),
    cluster.core.listNamespacedEvent({ namespace: cluster.namespace, fieldSelector: 'type=Warning' }),
    autoscalerFor(cluster, name).catch(() => undefined),
  ]);
  const related = relatedTo(name, new Set(pods.map((pod) => pod.metadata?.name)));
  const when = (event: CoreV1Event) => event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp;
  const warnings = events.items
    .filter(related)
    .sort((a, b) => (when(b)?.valueOf() ?? 0) - (when(a)?.valueOf() ?? 0))
    .slice(0, 5)
    .map((event) => ({ object: `${event.involvedObject.kind}/${event.involvedObject.name}`, reason: event.reason ?? '', message: event.message ?? '', count: event.count ?? 1, at: when(event) }));
  const s = deployment.status ?? {};
  return {
    name,
    desired: deployment.spec?.replicas ?? 1,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    image: imageOf(deployment.spec?.template, name, container),
    revision: revisionOf(deployment),
    paused: deployment.spec?.paused ?? false,
    state: rolloutState(deployment),
    problems: pods.map(podProblem).filter((problem): problem is PodProblem => problem !== undefined),
    warnings,
    autoscaler,
  };
}

export interface Revision {
  revision: number;
  image: string;
  cause?: string;
  createdAt?: Date;
  current: boolean;
}

/** `kubectl rollout history`: the owned ReplicaSets by revision, with their change-cause. */
export async function history(cluster: Cluster, name: string, container?: string): Promise<Revision[]> {
  const deployment = await requireDeployment(cluster, name);
  const current = revisionOf(deployment);
  return (await ownedReplicaSets(cluster, deployment))
    .map((rs) => ({
      revision: revisionOf(rs),
      image: imageOf(rs.spec?.template, name, container),
      cause: rs.metadata?.annotations?.[CHANGE_CAUSE],
      createdAt: rs.metadata?.creationTimestamp,
      current: revisionOf(rs) === current,
    }))
    .sort((a, b) => a.revision - b.revision);
}
