import type { Config } from '../config/load.js';
import type { Locale, MessageKey } from './i18n.js';
import type { Block, Reply } from './reply.js';
import type { Recipient } from '../config/schema.js';
import type { Access } from './access.js';

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

export interface User {
  id: string;
  roles: string[];
}

/** Sends a message to anyone through the channel the bot speaks on (progress, approvals, notifications). */
export type Notify = (to: Recipient, reply: Reply) => Promise<void>;

/** What a command gets besides its arguments. Domain services join here as the issues that need them land. */
export interface CommandContext {
  user: User;
  /** The `@env` given, or the default environment. */
  environment: string;
  locale: Locale;
  config: Config;
  commands: readonly Command[];
  access: Access;
  notify: Notify;
  /** Sends more messages to the user who ran the command (progress of long work). */
  progress: (reply: Reply) => Promise<void>;
}

export interface CommandSpec<A extends readonly ArgSpec[]> {
  name: string;
  /** Chinese alias first; every command has at least one. */
  aliases: readonly string[];
  summary: MessageKey;
  args: A;
  /** Takes `@env`, and the role's environment list applies to it. */
  environment?: boolean;
  /** Changes a cluster: protected environments ask for confirmation, and the audit log records it. */
  mutates?: boolean;
  /** The name the access lists use; defaults to the command's name. */
  permission?: string;
  run(context: CommandContext, args: ArgsOf<A>): Promise<Reply>;
}

export interface Command extends Omit<CommandSpec<readonly ArgSpec[]>, 'run'> {
  permission: string;
  usage: string;
  run(context: CommandContext, args: Record<string, string | number | undefined>): Promise<Reply>;
}

export function defineCommand<const A extends readonly ArgSpec[]>(spec: CommandSpec<A>): Command {
  const args = spec.args.map((arg) => (arg.required ? `<${arg.name}>` : `[${arg.name}]`));
  if (spec.environment) args.push('[@env]');
  return {
    ...spec,
    permission: spec.permission ?? spec.name,
    usage: [spec.name, ...args].join(' '),
    run: spec.run as Command['run'],
  };
}

/** A usage line as a block, for replies to a wrong call. */
export const usageBlock = (command: Command): Block => ({ type: 'code', lines: [command.usage] });
