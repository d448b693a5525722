import { AlertmanagerError } from '../alerts/alertmanager-api.js';
import { MatcherError } from '../alerts/matchers.js';
import type { CommandContext } from './command.js';
import { UserError } from './reply.js';

// What the alert commands share: matchers a user typed, and Alertmanager's API, fail as refusals the user can act on.

export function requireAlertmanager(context: CommandContext) {
  const api = context.services.alertmanager;
  if (!api) throw new UserError('alerts.noAlertmanager');
  return api;
}

export function alertmanagerRefusal(error: unknown): never {
  if (error instanceof AlertmanagerError) throw new UserError('alerts.alertmanagerFailed', { detail: error.message });
  throw error;
}

/** Runs work on matchers a user typed; a matcher that does not parse becomes a refusal naming it. */
export async function withTypedMatchers<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MatcherError) throw new UserError(error.problem === 'regex' ? 'alerts.badRegex' : 'alerts.badMatcher', { input: error.input });
    throw error;
  }
}
