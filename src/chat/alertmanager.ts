import { AlertmanagerError } from '../alerts/alertmanager-api.js';
import type { CommandContext } from './command.js';
import { UserError } from './reply.js';

// What the silence commands share: Alertmanager must be configured, and its errors become refusals.

export function requireAlertmanager(context: CommandContext) {
  const api = context.services.alertmanager;
  if (!api) throw new UserError('alerts.noAlertmanager');
  return api;
}

export function alertmanagerRefusal(error: unknown): never {
  if (error instanceof AlertmanagerError) throw new UserError('alerts.alertmanagerFailed', { detail: error.message });
  throw error;
}
