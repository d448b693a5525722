import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { Access } from './access.js';
import { usageBlock, type ArgSpec, type Command, type CommandContext, type Notify } from './command.js';
import { joinList } from './i18n.js';
import { extractEnvironments, normalize, tokenize, unquote } from './parse.js';
import { UserError, msg, textReply, type Reply } from './reply.js';

export interface Incoming {
  /** WeCom userid (or the console user). */
  userId: string;
  text: string;
}

export interface RouterOptions {
  config: Config;
  commands: readonly Command[];
  notify: Notify;
  logger: Logger;
  /** Called once per command run with its outcome, for metrics. */
  onRun?: (command: string, outcome: 'ok' | 'refused' | 'error') => void;
}

/** From a line of text to a command run: normalise, parse, look up, check permission, run, catch. */
export class ChatRouter {
  readonly access: Access;
  readonly #byName = new Map<string, Command>();

  constructor(private readonly options: RouterOptions) {
    this.access = new Access(options.config.access);
    for (const command of options.commands) {
      for (const name of [command.name, ...command.aliases]) {
        if (this.#byName.has(name.toLowerCase())) throw new Error(`command name "${name}" is declared twice`);
        this.#byName.set(name.toLowerCase(), command);
      }
    }
  }

  lookup(word: string): Command | undefined {
    return this.#byName.get(word.toLowerCase());
  }

  async handle(incoming: Incoming): Promise<Reply> {
    const { config, logger } = this.options;
    const text = normalize(incoming.text);
    const { tokens, environments } = extractEnvironments(tokenize(text));
    if (tokens.length === 0) return textReply('hint.empty', undefined, 'muted');

    const command = this.lookup(tokens[0]!);
    if (!command) {
      const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
      return textReply('hint.unknown', { text: shown }, 'muted');
    }

    const user = this.access.user(incoming.userId);
    const log = logger.child({ user: user.id, command: command.name });
    try {
      const environment = this.#environment(command, environments);
      const decision = this.access.allows(user, command, environment);
      if (!decision.ok) throw new UserError(decision.key, decision.params);
      const args = parseArgs(command, tokens.slice(1));
      const context: CommandContext = {
        user,
        environment: environment ?? config.defaultEnvironment,
        locale: config.locale,
        config,
        commands: this.options.commands,
        access: this.access,
        notify: this.options.notify,
        progress: (reply) => this.options.notify({ user: user.id }, { ...reply, urgent: true }),
      };
      const reply = await command.run(context, args);
      this.options.onRun?.(command.name, 'ok');
      log.info({ environment: context.environment }, 'command ran');
      return { ...reply, urgent: true };
    } catch (error) {
      if (error instanceof UserError) {
        this.options.onRun?.(command.name, 'refused');
        log.info({ refusal: error.key }, 'command refused');
        return { urgent: true, blocks: [{ type: 'text', text: msg(error.key, error.params), tone: 'error' }, ...error.details] };
      }
      this.options.onRun?.(command.name, 'error');
      log.error({ err: error }, 'command failed');
      return { urgent: true, ...textReply('error.internal', { command: command.name }, 'error') };
    }
  }

  #environment(command: Command, environments: string[]): string | undefined {
    const { config } = this.options;
    if (environments.length > 1) throw new UserError('error.manyEnvs', { envs: environments.map((env) => `@${env}`).join(' ') });
    const [environment] = environments;
    if (environment === undefined) return command.environment ? config.defaultEnvironment : undefined;
    if (!command.environment) throw new UserError('error.extraArgs', { args: `@${environment}` }, [usageBlock(command)]);
    const known = Object.keys(config.environments);
    if (!known.includes(environment)) {
      throw new UserError('error.unknownEnv', { env: environment, envs: joinList(config.locale, known) });
    }
    return environment;
  }
}

function parseArgs(command: Command, tokens: string[]): Record<string, string | number | undefined> {
  const args: Record<string, string | number | undefined> = {};
  const fail = (key: ConstructorParameters<typeof UserError>[0], params: Record<string, string> = {}) => {
    throw new UserError(key, params, [usageBlock(command)]);
  };
  let index = 0;
  for (const spec of command.args as readonly ArgSpec[]) {
    if (spec.kind === 'rest') {
      const rest = tokens.slice(index).join(' ');
      index = tokens.length;
      if (!rest && spec.required) fail('error.missingArg', { arg: spec.name });
      args[spec.name] = rest || undefined;
      continue;
    }
    const token = tokens[index++];
    if (token === undefined) {
      if (spec.required) fail('error.missingArg', { arg: spec.name });
      args[spec.name] = undefined;
      continue;
    }
    const value = unquote(token);
    if (spec.kind === 'int') {
      if (!/^-?\d{1,9}$/.test(value) || (spec.min !== undefined && Number(value) < spec.min)) {
        fail('error.notInteger', { arg: spec.name, value });
      }
      args[spec.name] = Number(value);
    } else {
      if (spec.choices && !spec.choices.includes(value.toLowerCase())) {
        fail('error.choice', { arg: spec.name, value, choices: spec.choices.join('|') });
      }
      args[spec.name] = spec.choices ? value.toLowerCase() : value;
    }
  }
  if (index < tokens.length) fail('error.extraArgs', { args: tokens.slice(index).join(' ') });
  return args;
}
