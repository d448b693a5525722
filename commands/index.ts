import type { Command } from '../src/chat/command.js';
import help from './help.js';
import whoami from './whoami.js';

/** Every chat command, in the order `help` lists them. Adding a command is adding its file and a line here. */
export const commands: readonly Command[] = [help, whoami];
