import type { MessageKey } from './zh-CN.js';

export const en: Record<MessageKey, string> = {
  'hint.unknown': 'I did not understand "{text}". Send help to see the commands.',
  'hint.empty': 'Send help to see the commands.',

  'help.title': 'wekube commands',
  'help.footer': 'Send help <command> for its usage; @<env> picks the environment (default {env}).',
  'help.usage': 'Usage',
  'help.aliases': 'Aliases',
  'help.mutates': 'changes the cluster; protected environments ask for confirmation',
  'help.unknown': 'There is no command "{name}". Send help to see them all.',
  'help.notAllowed': '(not allowed for your roles)',

  'cmd.help': 'list the commands, or show how to use one',
  'cmd.whoami': 'show my user id and roles',

  'whoami.title': 'Who am I',
  'whoami.user': 'User id',
  'whoami.roles': 'Roles',
  'whoami.commands': 'Commands',
  'whoami.environments': 'Environments',
  'whoami.approve': 'Can approve',
  'whoami.yes': 'yes',
  'whoami.no': 'no',
  'whoami.all': 'all',

  'error.usage': 'Usage: {usage}',
  'error.missingArg': 'Missing <{arg}>.',
  'error.extraArgs': 'Unexpected arguments: {args}.',
  'error.notInteger': '<{arg}> must be a whole number, got "{value}".',
  'error.choice': '<{arg}> must be one of {choices}, got "{value}".',
  'error.unknownEnv': 'There is no environment "{env}". Environments: {envs}.',
  'error.manyEnvs': 'Give one environment only, got {envs}.',
  'error.forbidden': 'Your roles ({roles}) may not use {command}. Ask ops for access.',
  'error.forbiddenEnv': 'Your roles ({roles}) may not use {command} in {env}.',
  'error.internal': 'Something went wrong running {command}; it has been logged. Try again later or ask ops.',
  'error.interrupted': 'wekube restarted while "{text}" was running; its outcome is unknown. Check with status before sending it again.',

  'console.banner': 'wekube console: you are {user} ({roles}). Type help for the commands, Ctrl-D to leave.',
  'console.to': '→ to {to}',
};
