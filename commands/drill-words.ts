import { defineCommand, type Command, type CommandContext } from '../src/chat/command.js';
import type { MessageKey } from '../src/chat/i18n.js';
import { UserError, type Reply } from '../src/chat/reply.js';
import type { Answer, DrillRunner } from '../src/drills/runner.js';

/** The drill runner, or a clear refusal when no checklist is loaded. */
export function drillsOf(context: CommandContext): DrillRunner {
  const drills = context.services.drills;
  if (!drills || drills.checklists.size === 0) throw new UserError('drill.noChecklists', { dir: context.config.drills.dir });
  return drills;
}

/**
 * The environment of the run a user means (the one named, else the run they take part in, else the only one),
 * once their roles allow drills there: `完成` without @env must not answer a run where they may not act.
 */
export function runEnvironment(context: CommandContext): string {
  const run = drillsOf(context).find(context.user.id, context.environmentNamed ? context.environment : undefined);
  const decision = context.access.allows(context.user, { name: 'drill', permission: 'drill', environment: true }, run.environment);
  if (!decision.ok) throw new UserError(decision.key, decision.params);
  return run.environment;
}

/**
 * A drill word typed alone (`完成`, `失败`, `跳过`, `停止演练`): it acts on the current step of the run the user is in,
 * as the `drill` subcommand of the same name does; `help` lists it under `drill`.
 */
export function defineDrillShortcut(
  name: string,
  aliases: readonly string[],
  summary: MessageKey,
  act: (drills: DrillRunner, context: CommandContext, environment: string, note: string | undefined) => Promise<Reply>,
): Command {
  return defineCommand({
    name,
    aliases,
    summary,
    shortcutOf: 'drill',
    args: [{ name: 'note', kind: 'rest' }] as const,
    environment: true,
    permission: 'drill',
    audited: 'refusals',
    run: (context, args) => act(drillsOf(context), context, runEnvironment(context), args.note),
  });
}

/** `完成`, `失败`, `跳过`: answer the current step (as `drill done`, `drill fail`, `drill skip`). */
export const defineAnswer = (name: Answer, alias: string, summary: MessageKey): Command =>
  defineDrillShortcut(name, [alias], summary, (drills, context, environment, note) => drills.answer(context.user.id, environment, name, note, context.cardCode));
