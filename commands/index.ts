import type { Command } from '../src/chat/command.js';
import alerts from './alerts.js';
import approve from './approve.js';
import audit from './audit.js';
import claim from './claim.js';
import unclaim from './unclaim.js';
import cancel from './cancel.js';
import confirm from './confirm.js';
import apps from './apps.js';
import deploy from './deploy.js';
import done from './done.js';
import drill from './drill.js';
import fail from './fail.js';
import halt from './halt.js';
import skip from './skip.js';
import events from './events.js';
import help from './help.js';
import history from './history.js';
import logs from './logs.js';
import restart from './restart.js';
import rollback from './rollback.js';
import scale from './scale.js';
import silence from './silence.js';
import silences from './silences.js';
import status from './status.js';
import subscribe from './subscribe.js';
import tags from './tags.js';
import unsilence from './unsilence.js';
import unsubscribe from './unsubscribe.js';
import whoami from './whoami.js';

/** Every chat command, in the order `help` lists them. Adding a command is adding its file and a line here. */
export const commands: readonly Command[] = [
  help, status, deploy, rollback, restart, scale, history, logs, events, apps, tags,
  subscribe, unsubscribe, alerts, claim, unclaim, silence, silences, unsilence,
  drill, done, fail, skip, halt,
  confirm, approve, cancel, whoami, audit,
];

/** What `access.roles.<role>.allow` may name. */
export const permissions: readonly string[] = [...new Set(commands.map((command) => command.permission))];
