import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
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
  checkVariables(text, file);
  for (const document of documents) checkNumbers(document, text, file);
  return documents.map((document) => document.toJS()).filter((value) => value !== null);
}

/** The variables appVariables gives, and those of them that are numbers. */
const VARIABLES = new Set(['app', 'namespace', 'environment', 'image', 'tag', 'replicas', 'port', 'env', 'args', 'resources', 'probes', 'progressDeadlineSeconds', 'changeCause']);
const NUMBER_VARIABLES = new Set(['replicas', 'port', 'progressDeadlineSeconds']);

/** Every `${…}` is closed and names a variable wekube gives: a typo stops start-up instead of dropping a field. */
function checkVariables(text: string, file: string): void {
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const code = line.replace(/(^|\s)#.*$/, '');
    for (let at = code.indexOf('${'); at >= 0; at = code.indexOf('${', at + 2)) {
      const end = code.indexOf('}', at);
      if (end < 0) throw new TemplateError(`${file}:${index + 1}: "\${" is not closed`);
      const name = code.slice(at + 2, end);
      if (!/^[A-Za-z][\w.]*$/.test(name)) throw new TemplateError(`${file}:${index + 1}: "\${${name}}" is not a variable name`);
      const root = name.split('.')[0]!;
      if (!VARIABLES.has(root) || (root !== 'probes' && name !== root)) {
        throw new TemplateError(`${file}:${index + 1}: unknown variable \${${name}}; known: ${[...VARIABLES].join(', ')}, probes.readiness, probes.liveness, probes.startup`);
      }
    }
  }
}

/** Fields the API needs as numbers, by the kind of the document. */
const NUMBER_FIELDS: Record<string, string[][]> = {
  Deployment: [['spec', 'replicas'], ['spec', 'progressDeadlineSeconds'], ['spec', 'revisionHistoryLimit'], ['spec', 'minReadySeconds']],
  Service: [],
};

/** A number field holds a number, or exactly one variable that is a number. */
function checkNumbers(document: Document, text: string, file: string): void {
  const kind = String(document.get('kind') ?? '');
  const fields: Node[] = [];
  const named = (path: string[]) => document.getIn(path, true) as Node | undefined;
  for (const path of NUMBER_FIELDS[kind] ?? []) {
    const node = named(path);
    if (node) fields.push(node);
  }
  const each = (node: unknown, visit: (item: unknown) => void) => {
    if (isSeq(node)) for (const item of node.items) visit(item);
  };
  if (kind === 'Deployment') {
    each(document.getIn(['spec', 'template', 'spec', 'containers'], true), (container) => {
      if (isMap(container)) each(container.get('ports', true), (port) => isMap(port) && port.get('containerPort', true) && fields.push(port.get('containerPort', true) as Node));
    });
  }
  if (kind === 'Service') {
    each(document.getIn(['spec', 'ports'], true), (port) => isMap(port) && port.get('port', true) && fields.push(port.get('port', true) as Node));
  }
  for (const node of fields) {
    if (!isScalar(node)) continue;
    const value = node.value;
    if (typeof value === 'number') continue;
    const whole = typeof value === 'string' ? WHOLE.exec(value) : null;
    if (whole && NUMBER_VARIABLES.has(whole[1]!)) continue;
    const line = text.slice(0, node.range?.[0] ?? 0).split('\n').length;
    throw new TemplateError(`${file}:${line}: must be a number (or one of \${${[...NUMBER_VARIABLES].join('}, ${')}}), not "${String(value)}"`);
  }
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
