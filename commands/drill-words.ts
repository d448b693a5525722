import type { CommandContext } from '../src/chat/command.js';
import { UserError } from '../src/chat/reply.js';
import type { DrillRunner } from '../src/drills/runner.js';

/** The drill runner, or a clear refusal when no checklist is loaded. */
export function drillsOf(context: CommandContext): DrillRunner {
  const drills = context.services.drills;
  if (!drills || drills.checklists.size === 0) throw new UserError('drill.noChecklists', { dir: context.config.drills.dir });
  return drills;
}

/** The environment a drill answer means: the one named, else the runner finds the run. */
export const namedEnvironment = (context: CommandContext): string | undefined => (context.environmentNamed ? context.environment : undefined);
