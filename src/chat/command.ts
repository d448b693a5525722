import type { Config } from '../config/load.js';
import type { Address, Conversation } from '../channel/port.js';
import type { AlertClaims } from '../alerts/claims.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { AlertmanagerApi } from '../alerts/alertmanager-api.js';
import type { Subscriptions } from '../alerts/subscriptions.js';
import type { Clusters } from '../kube/clusters.js';
import type { Registries } from '../kube/registry.js';
import type { DrillRunner } from '../drills/runner.js';
import type { Access } from './access.js';
import type { AppState, AuditEntry, AuditLog } from './audit.js';
import type { ChangeDesk } from './changes.js';
import { isMessageKey, translate, type Locale, type MessageKey } from './i18n.js';
import type { Block, Reply, Text } from './reply.js';

/** One argument of a command, in the order users type them. */
export type ArgSpec =
  | { name: string; kind: 'word'; required?: boolean; choices?: readonly string[] }
  | { name: string; kind: 'int'; required?: boolean; min?: number }
  /** Everything left, quotes kept (matchers, notes). */
  | { name: string; kind: 'rest'; required?: boolean };

type ArgValue<S extends ArgSpec> = S extends { kind: 'int' } ? number : string;
export type ArgsOf<A extends readonly ArgSpec[]> = {
  [S in A[number] as S['name']]: S extends { required: true } ? ArgValue<S> : ArgValue<S> | undefined;
};
export type ArgValues = Record<string, string | number | undefined>;

export interface User {
  id: string;
  roles: string[];
}

/** Sends a message to anyone, or back to a conversation, through the channel port (progress, approvals, notifications). */
export type Notify = (to: Address, reply: Reply) => Promise<void>;

/** The domain services commands use; each issue adds its own. */
export interface Services {
  clusters: Clusters;
  /** The parsed generic template (config/templates/deployment.yaml). */
  template: unknown[];
  audit: AuditLog;
  changes: ChangeDesk;
  alerts: AlertEngine;
  claims: AlertClaims;
  subscriptions: Subscriptions;
  /** Set when alerts.alertmanagerUrl is configured. */
  alertmanager?: AlertmanagerApi;
  registries: Registries;
  /** Group chats the app creates (appchat/create); absent when the WeCom app is off. */
  appChats?: { create(name: string, owner: string, members: string[]): Promise<string> };
  /** Drill runs; absent when no checklist is loaded. */
  drills?: DrillRunner;
}

/** What a command gets besides its arguments. */
export interface CommandContext {
  user: User;
  /** The `@env` given, or the default environment. */
  environment: string;
  /** Whether the user named the environment (`alerts` without one shows every environment). */
  environmentNamed: boolean;
  locale: Locale;
  config: Config;
  commands: readonly Command[];
  access: Access;
  services: Services;
  notify: Notify;
  /** Sends more messages to the user who ran the command (progress of long work). */
  progress: (reply: Reply) => Promise<void>;
  /** Adds details to this run's audit entry (app, before/after, a failed result and why). */
  record: (details: Partial<Pick<AuditEntry, 'app' | 'before' | 'after' | 'result' | 'reason'>>) => void;
  now: () => number;
  /** The command came from a card's button: the code that may replace that card in place (see Reply.replaces). */
  cardCode?: string;
  /** Where the command was said, when it came from a chat. */
  conversation?: Conversation;
}

/** What a mutating command will change, computed before anything is written. */
export interface ChangePlan {
  app: string;
  /** One line naming the change, e.g. "deploy order-service 1.4.2 @prod". */
  summary: Text;
  /** What changes: image a → b, replicas a → b. */
  preview: Block[];
  before?: AppState;
  after?: AppState;
}

export interface CommandSpec<A extends readonly ArgSpec[]> {
  name: string;
  /** Chinese alias first; every command has at least one. */
  aliases: readonly string[];
  summary: MessageKey;
  /** Command lines `help <command>` shows as examples (they read the same in every language). */
  examples?: readonly string[];
  /** `help` names this command under another one (`完成` under `drill`, `unclaim` under `claim`), not in the list. */
  shortcutOf?: string;
  args: A;
  /** Takes `@env`, and the role's environment list applies to it. */
  environment?: boolean;
  /**
   * Changes a cluster: planned first, one at a time per app, confirmed in protected environments, audited. A function
   * decides by the arguments (`drill start` changes, `drill status` reads).
   */
  mutates?: boolean | ((args: ArgsOf<A>) => boolean);
  /**
   * Recorded in the audit log by the router: `true` for every run (commands that read a cluster), `'refusals'`
   * for commands whose successes the change desk records itself (confirm, approve, cancel). Mutating commands
   * are always audited.
   */
  audited?: boolean | 'refusals';
  /** The name the access lists use; defaults to the command's name. */
  permission?: string;
  /** Mutating commands: validate the request and describe the change; must not write anything. */
  plan?(context: CommandContext, args: ArgsOf<A>): Promise<ChangePlan>;
  run(context: CommandContext, args: ArgsOf<A>, plan?: ChangePlan): Promise<Reply>;
}

export interface Command {
  name: string;
  aliases: readonly string[];
  summary: MessageKey;
  examples?: readonly string[];
  shortcutOf?: string;
  args: readonly ArgSpec[];
  environment?: boolean;
  mutates?: boolean | ((args: ArgValues) => boolean);
  audited?: boolean | 'refusals';
  permission: string;
  plan?(context: CommandContext, args: ArgValues): Promise<ChangePlan>;
  run(context: CommandContext, args: ArgValues, plan?: ChangePlan): Promise<Reply>;
}

export function defineCommand<const A extends readonly ArgSpec[]>(spec: CommandSpec<A>): Command {
  if (spec.mutates && !spec.plan) throw new Error(`command ${spec.name} mutates but declares no plan`);
  return {
    ...spec,
    permission: spec.permission ?? spec.name,
    mutates: spec.mutates as Command['mutates'],
    plan: spec.plan as Command['plan'],
    run: spec.run as Command['run'],
  };
}

/** An argument's name as the user reads it (<应用>, <app>). */
export function argName(locale: Locale, name: string): string {
  const key = `arg.${name}`;
  return isMessageKey(key) ? translate(locale, key) : name;
}

/** Whether this call of the command changes something (and goes through the change desk). */
export const mutatesWith = (command: Command, args: ArgValues): boolean => (typeof command.mutates === 'function' ? command.mutates(args) : command.mutates === true);

/** The usage line in the user's language: `deploy <应用> <标签> [@环境]`. */
export function usageText(command: Command, locale: Locale): string {
  const args = command.args.map((arg) => (arg.required ? `<${argName(locale, arg.name)}>` : `[${argName(locale, arg.name)}]`));
  if (command.environment) args.push(`[@${argName(locale, 'env')}]`);
  return [command.name, ...args].join(' ');
}

/** A usage line as a block, for replies to a wrong call. */
export const usageBlock = (command: Command, locale: Locale): Block => ({ type: 'code', lines: [usageText(command, locale)] });
