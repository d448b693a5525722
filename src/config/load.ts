import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { appSchema, configSchema, type AppConfig, type RawConfig } from './schema.js';

/** Environment variables of SPEC §2 and the config key each one overrides. */
export const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly (string | number)[]]> = [
  ['PORT', ['server', 'port']],
  ['WEKUBE_DATA_DIR', ['store', 'dataDir']],
  ['WEKUBE_DATABASE_URL', ['store', 'postgres', 'url']],
  ['WECOM_CORP_ID', ['wecom', 'corpId']],
  ['WECOM_AGENT_ID', ['wecom', 'agentId']],
  ['WECOM_SECRET', ['wecom', 'secret']],
  ['WECOM_TOKEN', ['wecom', 'token']],
  ['WECOM_AES_KEY', ['wecom', 'aesKey']],
  ['WECOM_API_BASE', ['wecom', 'apiBase']],
  ['WECOM_CALLBACK_MAX_SKEW', ['wecom', 'callbackMaxSkewSeconds']],
  ['WECOM_AIBOT_TOKEN', ['wecom', 'aibot', 'token']],
  ['WECOM_AIBOT_AES_KEY', ['wecom', 'aibot', 'aesKey']],
  ['WEKUBE_ALERT_TOKEN', ['alerts', 'webhookToken']],
  ['WEKUBE_DIGEST_WINDOW', ['alerts', 'digestWindow']],
  ['ALERTMANAGER_URL', ['alerts', 'alertmanagerUrl']],
  ['WEKUBE_PUBLIC_URL', ['server', 'publicUrl']],
];

const WECOM_APP_KEYS = [
  ['corpId', 'WECOM_CORP_ID'],
  ['agentId', 'WECOM_AGENT_ID'],
  ['secret', 'WECOM_SECRET'],
  ['token', 'WECOM_TOKEN'],
  ['aesKey', 'WECOM_AES_KEY'],
] as const;

export type Config = Omit<RawConfig, 'apps'> & {
  apps: Record<string, AppConfig>;
  /** Absolute path of the config file; relative paths in it resolve against its directory. */
  file: string;
  dir: string;
  /** KUBECONFIG from the environment, used by environments without a kubeconfig of their own. */
  kubeconfigFromEnv?: string;
};

/** A config problem: names the file, the key (and the variable that set it) and what is wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function defaultConfigPath(env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, env.WEKUBE_CONFIG ?? 'config/wekube.yaml');
}

/**
 * `commands`: the permissions commands declare; when given, every name in a role's `allow` must be one of them, so
 * a typo such as `stauts` stops start-up instead of silently denying.
 */
export function loadConfig(options: { env?: NodeJS.ProcessEnv; cwd?: string; file?: string; commands?: readonly string[] } = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? resolve(cwd, options.file) : defaultConfigPath(env, cwd);
  const shown = relative(cwd, file) || file;

  const { doc, lines } = readYaml(file, shown);
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${shown}: must be a YAML mapping of keys`]);

  const fromEnv = new Map<string, string>();
  for (const [variable, path] of ENV_OVERRIDES) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    setIn(raw, path, value);
    fromEnv.set(path.join('.'), variable);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, shown, doc, lines, fromEnv));
  const config = parsed.data;
  if (options.commands) {
    const known = options.commands;
    const issues: z.core.$ZodIssue[] = [];
    for (const [roleName, role] of Object.entries(config.access.roles)) {
      role.allow.forEach((name, index) => {
        if (name !== '*' && !known.includes(name)) issues.push({ code: 'custom', path: ['access', 'roles', roleName, 'allow', index], message: `no command "${name}" (commands: ${known.join(', ')})`, input: name });
      });
    }
    if (issues.length > 0) throw new ConfigError(describeIssues(issues, shown, doc, lines, fromEnv));
  }

  const missing = WECOM_APP_KEYS.filter(([key]) => config.wecom[key] === undefined);
  if (missing.length > 0 && missing.length < WECOM_APP_KEYS.length) {
    throw new ConfigError([
      `${shown}: wecom: the WeCom app is only partly configured; also set ${missing
        .map(([key, variable]) => `wecom.${key} (${variable})`)
        .join(', ')}, or remove the others to run without WeCom`,
    ]);
  }

  const { aibot } = config.wecom;
  if ((aibot.token === undefined) !== (aibot.aesKey === undefined)) {
    throw new ConfigError([`${shown}: wecom.aibot: set both the AI bot's token (WECOM_AIBOT_TOKEN) and aesKey (WECOM_AIBOT_AES_KEY), or neither`]);
  }

  const dir = dirname(file);
  const apps = typeof config.apps === 'string' ? loadAppsFile(resolve(dir, config.apps), cwd) : config.apps;
  const result: Config = { ...config, apps, file, dir };
  if (env.KUBECONFIG) result.kubeconfigFromEnv = env.KUBECONFIG;
  return result;
}

/** True when the 智能机器人 (AI bot) callback is configured. */
export function aibotEnabled(config: Config): config is Config & { wecom: { aibot: { token: string; aesKey: string } } } {
  return config.wecom.aibot.token !== undefined && config.wecom.aibot.aesKey !== undefined;
}

/** True when the self-built app is configured (all of corpId, agentId, secret, token, aesKey). */
export function wecomEnabled(config: Config): config is Config & { wecom: Required<Config['wecom']> } {
  return WECOM_APP_KEYS.every(([key]) => config.wecom[key] !== undefined);
}

export const WECOM_VARIABLES = WECOM_APP_KEYS.map(([, variable]) => variable);

function loadAppsFile(file: string, cwd: string): Record<string, AppConfig> {
  const shown = relative(cwd, file) || file;
  const { doc, lines } = readYaml(file, shown);
  const raw = doc.toJS() ?? {};
  const problems: string[] = [];
  const apps: Record<string, AppConfig> = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${shown}: must map app names to their settings`]);
  for (const [appName, value] of Object.entries(raw as Record<string, unknown>)) {
    const parsed = appSchema.safeParse(value);
    if (parsed.success) apps[appName] = parsed.data;
    else {
      const issues = parsed.error.issues.map((issue) => ({ ...issue, path: [appName, ...issue.path] }));
      problems.push(...describeIssues(issues, shown, doc, lines, new Map()));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return apps;
}

function readYaml(file: string, shown: string): { doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? String(error)})`;
    throw new ConfigError([`${shown}: ${why}; point WEKUBE_CONFIG at the config file`]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const at = error.linePos?.[0];
        return `${shown}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    );
  }
  return { doc, lines };
}

function describeIssues(
  issues: z.core.$ZodIssue[],
  shown: string,
  doc: Document,
  lines: LineCounter,
  fromEnv: Map<string, string>,
): string[] {
  return issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    const key = formatPath(path);
    const variable = fromEnv.get(path.join('.'));
    if (variable) return `${variable} (${key}): ${issue.message}`;
    const node = keyNode(doc, path) ?? (doc.getIn(path, true) as { range?: [number, number, number] } | undefined);
    const line = node?.range ? `:${lines.linePos(node.range[0]).line}` : '';
    const message = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return `${shown}${line}: ${key || '(top level)'}: ${message}`;
  });
}

/** The key of the entry at `path` (so a problem is reported on the key's own line, not where its value starts). */
function keyNode(doc: Document, path: (string | number)[]): { range?: [number, number, number] } | undefined {
  const last = path[path.length - 1];
  if (typeof last !== 'string') return undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
  return (pair?.key as { range?: [number, number, number] } | undefined) ?? undefined;
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

function setIn(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
