import { distance } from 'fastest-levenshtein';
import type { Logger } from 'pino';
import type { Conversation } from '../channel/port.js';
import type { Config } from '../config/load.js';
import { own } from '../config/own.js';
import { Access } from './access.js';
import { isAudited, type AuditEntry } from './audit.js';
import { argName, mutatesWith, usageBlock, type ArgSpec, type ArgValues, type Command, type CommandContext, type Notify, type Services } from './command.js';
import { joinList, type Locale } from './i18n.js';
import { excerpt, extractEnvironments, MAX_COMMAND_CHARS, normalize, tokenize, unquote } from './parse.js';
import { UserError, msg, textReply, type Reply } from './reply.js';

export interface Incoming {
  /** WeCom userid (or the console user). */
  userId: string;
  text: string;
  /** Set when the text is a card button's key: the single-use code that may replace that card. */
  cardCode?: string;
  /** Where it was said; an answer that comes later (a change approved later) goes back there. */
  conversation?: Conversation;
  /** Where the command's progress goes (a live message in the conversation); default: a message to the user. */
  progress?: (reply: Reply) => Promise<void>;
}

export interface RouterOptions {
  config: Config;
  commands: readonly Command[];
  access?: Access;
  services: Services;
  notify: Notify;
  logger: Logger;
  now?: () => number;
  /** Called once per command run with its outcome, for metrics. */
  onRun?: (command: string, outcome: 'ok' | 'refused' | 'error') => void;
}

type AuditDetails = Parameters<CommandContext['record']>[0];

/**
 * From a line of text to a command run: normalise, parse, look up, check permission; a mutating command is
 * planned and handed to the change desk (locks, confirmation, approvals); reads and refusals are audited.
 */
export class ChatRouter {
  readonly access: Access;
  readonly #byName = new Map<string, Command>();
  readonly #now: () => number;

  constructor(private readonly options: RouterOptions) {
    this.access = options.access ?? new Access(options.config.access);
    this.#now = options.now ?? Date.now;
    for (const command of options.commands) {
      for (const name of [command.name, ...command.aliases]) {
        if (this.#byName.has(name.toLowerCase())) throw new Error(`command name "${name}" is declared twice`);
        this.#byName.set(name.toLowerCase(), command);
      }
    }
  }

  /** The command name a typo was meant to be (`depoly` → `deploy`): one or two letters off, never a guess from afar. */
  #nearest(word: string): string | undefined {
    const lowered = word.toLowerCase();
    if (lowered.length < 3 || lowered.length > 20) return undefined;
    let best: { name: string; distance: number } | undefined;
    for (const name of this.#byName.keys()) {
      if (!/^[a-z]+$/.test(name)) continue;
      const d = distance(lowered, name);
      if (d <= (name.length > 5 ? 2 : 1) && (!best || d < best.distance)) best = { name: this.#byName.get(name)!.name, distance: d };
    }
    return best?.name;
  }

  lookup(word: string): Command | undefined {
    return this.#byName.get(word.toLowerCase());
  }

  /** The context a command runs in for a user: progress goes to that user. */
  contextFor(userId: string, environment: string, record: (details: AuditDetails) => void = () => undefined, environmentNamed = true): CommandContext {
    const { config } = this.options;
    const user = this.access.user(userId);
    return {
      user,
      environment,
      environmentNamed,
      locale: config.locale,
      config,
      commands: this.options.commands,
      access: this.access,
      services: this.options.services,
      notify: this.options.notify,
      progress: (reply) => this.options.notify({ user: user.id }, { ...reply, urgent: true }),
      record,
      now: this.#now,
    };
  }

  async handle(incoming: Incoming): Promise<Reply> {
    const { config, logger, services } = this.options;
    if (incoming.text.length > MAX_COMMAND_CHARS) {
      return { urgent: true, ...textReply('error.tooLong', { length: incoming.text.length, max: MAX_COMMAND_CHARS, text: excerpt(incoming.text.slice(0, 200)) }, 'error') };
    }
    const text = normalize(incoming.text);
    const { tokens, environments } = extractEnvironments(tokenize(text));
    if (tokens.length === 0) return textReply('hint.empty', undefined, 'muted');

    const command = this.lookup(tokens[0]!);
    if (!command) {
      const nearest = this.#nearest(tokens[0]!);
      if (nearest) return textReply('hint.didYouMean', { word: excerpt(tokens[0]!, 20), command: nearest, text: excerpt([nearest, ...tokens.slice(1)].join(' '), 60) }, 'muted');
      return textReply('hint.unknown', { text: excerpt(text) }, 'muted');
    }

    const user = this.access.user(incoming.userId);
    const log = logger.child({ user: user.id, command: command.name });
    const audited = command.mutates ? 'refusals' : command.audited;
    const details: AuditDetails = {};
    let environment: string | undefined;
    const audit = (entry: Pick<AuditEntry, 'result'> & Partial<AuditEntry>) =>
      services.audit.record({ user: user.id, command: text, environment, ...details, ...entry });
    try {
      environment = this.#environment(command, environments);
      const decision = this.access.allows(user, command, environment);
      if (!decision.ok) throw new UserError(decision.key, decision.params);
      const args = parseArgs(command, tokens.slice(1), config.locale);
      const context = this.contextFor(user.id, environment ?? config.defaultEnvironment, (more) => Object.assign(details, more), environments.length > 0);
      context.cardCode = incoming.cardCode;
      context.conversation = incoming.conversation;
      if (incoming.progress) context.progress = incoming.progress;
      let reply: Reply;
      if (mutatesWith(command, args)) {
        const plan = await command.plan!(context, args);
        details.app = plan.app;
        reply = await services.changes.request({ command, args, text, environment: context.environment, plan }, context);
      } else {
        reply = await command.run(context, args);
        if (audited === true) await audit({ result: details.result ?? 'ok' });
      }
      this.options.onRun?.(command.name, 'ok');
      log.info({ environment: context.environment }, 'command ran');
      return { ...reply, urgent: true };
    } catch (error) {
      if (audited && !isAudited(error)) {
        const refused = error instanceof UserError;
        await audit({ result: refused ? 'refused' : 'failed', reason: refused ? error.key : (error as Error).message.split('\n')[0], reasonParams: refused ? error.params : undefined }).catch((auditError: Error) =>
          log.error({ err: auditError }, 'could not write the audit log'),
        );
      }
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
    if (!command.environment) throw new UserError('error.extraArgs', { args: `@${environment}` }, [usageBlock(command, config.locale)]);
    const known = Object.keys(config.environments);
    const aliased = environmentAlias(config, environment);
    if (aliased) return aliased;
    if (!known.includes(environment)) {
      throw new UserError('error.unknownEnv', { env: environment, envs: joinList(config.locale, known) });
    }
    return environment;
  }
}

function parseArgs(command: Command, tokens: string[], locale: Locale): ArgValues {
  const args: ArgValues = {};
  const fail = (key: ConstructorParameters<typeof UserError>[0], params: Record<string, string> = {}) => {
    throw new UserError(key, params, [usageBlock(command, locale)]);
  };
  let index = 0;
  for (const spec of command.args as readonly ArgSpec[]) {
    if (spec.kind === 'rest') {
      const rest = tokens.slice(index).join(' ');
      index = tokens.length;
      if (!rest && spec.required) fail('error.missingArg', { arg: argName(locale, spec.name) });
      args[spec.name] = rest || undefined;
      continue;
    }
    const token = tokens[index++];
    if (token === undefined) {
      if (spec.required) fail('error.missingArg', { arg: argName(locale, spec.name) });
      args[spec.name] = undefined;
      continue;
    }
    const value = unquote(token);
    if (spec.kind === 'int') {
      if (!/^-?\d{1,9}$/.test(value)) fail('error.notInteger', { arg: argName(locale, spec.name), value });
      if (spec.min !== undefined && Number(value) < spec.min) fail('error.tooSmall', { arg: argName(locale, spec.name), value, min: String(spec.min) });
      args[spec.name] = Number(value);
    } else {
      if (spec.choices && !spec.choices.includes(value.toLowerCase())) {
        fail('error.choice', { arg: argName(locale, spec.name), value, choices: spec.choices.join('|') });
      }
      args[spec.name] = spec.choices ? value.toLowerCase() : value;
    }
  }
  if (index < tokens.length) fail('error.extraArgs', { args: tokens.slice(index).join(' ') });
  return args;
}

/** Chinese names people give environments; each counts only when the environment exists. */
const ENVIRONMENT_ALIASES: Record<string, readonly string[]> = {
  生产: ['prod', 'production', 'prd'],
  线上: ['prod', 'production', 'prd'],
  预发: ['pre', 'staging', 'stage'],
  测试: ['test', 'testing', 'qa'],
  开发: ['dev', 'development'],
};

/** The environment an alias stands for: `environments.<env>.aliases`, then the common Chinese names. */
function environmentAlias(config: Config, name: string): string | undefined {
  const configured = Object.entries(config.environments).find(([, settings]) => settings.aliases.includes(name));
  if (configured) return configured[0];
  return own(ENVIRONMENT_ALIASES, name)?.find((candidate) => Object.hasOwn(config.environments, candidate));
}
