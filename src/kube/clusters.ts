import { resolve } from 'node:path';
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  VersionApi,
  Watch,
  type Configuration,
} from '@kubernetes/client-node';
import type { Config } from '../config/load.js';
import type { EnvironmentConfig } from '../config/schema.js';

/** The API clients of one environment, already scoped to its namespace. */
export interface Cluster {
  environment: string;
  namespace: string;
  kubeConfig: KubeConfig;
  /** The deadline of one API request. */
  requestTimeoutMs: number;
  apps: AppsV1Api;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  autoscaling: AutoscalingV2Api;
  objects: KubernetesObjectApi;
  watch: Watch;
}

/** Environments are separate clusters (kube contexts) and namespaces; each gets its clients once, lazily. */
export class Clusters {
  readonly #clusters = new Map<string, Cluster>();
  #health: { at: number; result: Record<string, { ok: boolean; detail?: string }> } | undefined;

  constructor(private readonly config: Config) {}

  get names(): string[] {
    return Object.keys(this.config.environments);
  }

  has(environment: string): boolean {
    return environment in this.config.environments;
  }

  get(environment: string): Cluster {
    let cluster = this.#clusters.get(environment);
    if (!cluster) {
      const settings = this.config.environments[environment];
      if (!settings) throw new Error(`environment ${environment} is not configured`);
      const kubeConfig = loadKubeConfig(settings, this.config);
      const configuration = withDeadline(kubeConfig, settings.requestTimeout);
      // Rendered objects always name their namespace, so the client's default namespace is never used.
      const objects = new KubernetesObjectApi(configuration);
      cluster = {
        environment,
        namespace: settings.namespace,
        kubeConfig,
        requestTimeoutMs: settings.requestTimeout,
        apps: new AppsV1Api(configuration),
        core: new CoreV1Api(configuration),
        coordination: new CoordinationV1Api(configuration),
        autoscaling: new AutoscalingV2Api(configuration),
        objects,
        watch: new Watch(kubeConfig),
      };
      this.#clusters.set(environment, cluster);
    }
    return cluster;
  }

  /**
   * For readiness: can each environment's API server be reached with its credentials? Each check gives up after
   * two seconds (an unreachable cluster must not hang the probe) and results are reused for ten.
   */
  async health(now = Date.now()): Promise<Record<string, { ok: boolean; detail?: string }>> {
    if (this.#health && now - this.#health.at < 10_000) return this.#health.result;
    const result: Record<string, { ok: boolean; detail?: string }> = {};
    await Promise.all(
      this.names.map(async (environment) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const cluster = this.get(environment);
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer within 2s')), 2_000);
          });
          const version = await Promise.race([cluster.kubeConfig.makeApiClient(VersionApi).getCode(), timeout]);
          result[`cluster:${environment}`] = { ok: true, detail: `${version.gitVersion} namespace ${cluster.namespace}` };
        } catch (error) {
          result[`cluster:${environment}`] = { ok: false, detail: (error as Error).message.split('\n')[0] };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    this.#health = { at: now, result };
    return result;
  }
}

/**
 * The API clients' configuration, as KubeConfig.makeApiClient builds it, plus a deadline on every request: a
 * frozen or unreachable API server gets a clear answer within seconds instead of a command that hangs.
 */
function withDeadline(kubeConfig: KubeConfig, timeoutMs: number): Configuration {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  return createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (request) => {
          request.setSignal(AbortSignal.timeout(timeoutMs));
          return request;
        },
        post: async (response) => response,
      },
    ],
  });
}

/** The environment's kubeconfig, else KUBECONFIG, else the pod's in-cluster config, else ~/.kube/config. */
function loadKubeConfig(settings: EnvironmentConfig, config: Config): KubeConfig {
  const kubeConfig = new KubeConfig();
  const file = settings.kubeconfig ? resolve(config.dir, settings.kubeconfig) : config.kubeconfigFromEnv;
  if (file) kubeConfig.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  if (settings.context) {
    if (!kubeConfig.getContextObject(settings.context)) {
      throw new Error(`kube context "${settings.context}" is not in ${file ?? 'the kubeconfig'}`);
    }
    kubeConfig.setCurrentContext(settings.context);
  }
  return kubeConfig;
}

/** The message of an API Status, without the HTTP dump around it. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? (() => { try { return JSON.parse(body) as { message?: string }; } catch { return undefined; } })() : (body as { message?: string } | undefined);
  return (parsed?.message ?? String((error as Error).message).split('\n')[0] ?? '').slice(0, 300);
}
