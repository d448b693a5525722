import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Config } from '../config/load.js';
import type { AppConfig } from '../config/schema.js';

// The generic template (config/templates/deployment.yaml) is parsed once; rendering substitutes variables in the
// parsed tree, never in text, so a value can never inject YAML. "${x}" alone takes x's value of any type (and is
// dropped when x is unset); "${x}" inside a longer string is interpolated.

const WHOLE = /^\$\{([A-Za-z][\w.]*)\}$/;
const INNER = /\$\{([A-Za-z][\w.]*)\}/g;
/** An OCI image tag. */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export class TemplateError extends Error {}

export type Variables = Record<string, unknown>;

export function loadTemplate(config: Config): unknown[] {
  const file = resolve(config.dir, config.templates.deployment);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TemplateError(`templates.deployment: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new TemplateError(`${file}: not a YAML document stream`);
  const errors = documents.flatMap((document) => document.errors);
  if (errors.length > 0) throw new TemplateError(`${file}: not valid YAML: ${errors[0]!.message.split('\n')[0]}`);
  return documents.map((document) => document.toJS()).filter((value) => value !== null);
}

function lookup(variables: Variables, path: string): unknown {
  let value: unknown = variables;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function substitute(node: unknown, variables: Variables, where: string): unknown {
  if (typeof node === 'string') {
    const whole = WHOLE.exec(node);
    if (whole) return lookup(variables, whole[1]!);
    return node.replace(INNER, (_, name: string) => {
      const value = lookup(variables, name);
      if (value === undefined || value === null || typeof value === 'object') {
        throw new TemplateError(`${where}: \${${name}} must be a plain value inside "${node}"`);
      }
      return String(value);
    });
  }
  if (Array.isArray(node)) {
    return node.map((item, index) => substitute(item, variables, `${where}[${index}]`)).filter((item) => item !== undefined);
  }
  if (node !== null && typeof node === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const rendered = substitute(value, variables, where ? `${where}.${key}` : key);
      if (rendered !== undefined && !(Array.isArray(rendered) && rendered.length === 0 && WHOLE.test(String(value)))) result[key] = rendered;
    }
    return result;
  }
  return node;
}

/** The objects of one app, ready to apply. Only Deployments and Services in the app's namespace come out. */
export function render(template: unknown[], variables: Variables): KubernetesObject[] {
  const objects = template.map((document, index) => substitute(document, variables, `document ${index + 1}`) as KubernetesObject);
  for (const object of objects) {
    const kind = object.kind;
    if (kind !== 'Deployment' && kind !== 'Service') throw new TemplateError(`the template may hold Deployments and Services, not ${kind}`);
    if (!object.metadata?.name) throw new TemplateError(`a ${kind} in the template has no metadata.name`);
    if (object.metadata.namespace !== variables.namespace) {
      throw new TemplateError(`${kind} ${object.metadata.name} must be in namespace \${namespace}`);
    }
  }
  if (!objects.some((object) => object.kind === 'Deployment' && object.metadata?.name === variables.app)) {
    throw new TemplateError('the template must hold a Deployment named ${app}');
  }
  return objects;
}

/** Replicas of an app in an environment: the number, or the environment's entry, or the default. */
export function configuredReplicas(app: AppConfig, environment: string): number {
  if (typeof app.replicas === 'number') return app.replicas;
  return app.replicas[environment] ?? app.replicas.default;
}

export function appVariables(options: {
  name: string;
  app: AppConfig;
  environment: string;
  namespace: string;
  tag: string;
  replicas: number;
  changeCause: string;
}): Variables {
  const { app } = options;
  return {
    app: options.name,
    namespace: options.namespace,
    environment: options.environment,
    image: app.image,
    tag: options.tag,
    replicas: options.replicas,
    port: app.port ?? 8080,
    env: Object.entries(app.env).map(([name, value]) => ({ name, value })),
    args: app.args,
    resources: app.resources,
    probes: app.probes ?? {},
    progressDeadlineSeconds: app.progressDeadlineSeconds,
    changeCause: options.changeCause,
  };
}
