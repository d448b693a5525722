import { defineCommand, type Command, type CommandContext } from '../src/chat/command.js';
import type { MessageKey } from '../src/chat/i18n.js';
import { UserError } from '../src/chat/reply.js';
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
 * `完成`, `失败`, `跳过` typed alone: each answers the current step of the drill the user is in (as `drill done`,
 * `drill fail`, `drill skip`).
 */
export function defineAnswer(name: Answer, alias: string, summary: MessageKey): Command {
  return defineCommand({
    name,
    aliases: [alias],
    summary,
    shortcutOf: 'drill',
    args: [{ name: 'note', kind: 'rest' }] as const,
    environment: true,
    permission: 'drill',
    audited: 'refusals',
    async run(context, args) {
      return drillsOf(context).answer(context.user.id, runEnvironment(context), name, args.note, context.cardCode);
    },
  });
}
