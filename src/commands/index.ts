/**
 * The registry of commands, one module each (builder + handler): the slash commands and the message context-menu
 * commands. `bot.ts` dispatches interactions here by type and name; `scripts/deploy-commands.ts` registers every
 * builder's JSON with Discord (commandDefinitions). The types every module shares live
 * in ./types.js, so no command module needs to import this file.
 */
import { dictionary } from './dictionary.js';
import { leave } from './leave.js';
import { narrate } from './narrate.js';
import { narrateMessage } from './narrateMessage.js';
import { pause } from './pause.js';
import { queue } from './queue.js';
import { settings } from './settings.js';
import { resume } from './resume.js';
import { skip } from './skip.js';
import { status } from './status.js';
import { stop } from './stop.js';
import { usage } from './usage.js';
import { voice } from './voice.js';
import { voices } from './voices.js';
import type { Command, MessageCommand } from './types.js';

// For the callers that still import the types from here (bot.ts, tests): new code imports ./types.js.
export type { Command, CommandContext, MessageCommand } from './types.js';

export const commands: readonly Command[] = [narrate, stop, skip, queue, leave, voices, pause, resume, status, settings, voice, usage, dictionary];

/** Commands on a message (Apps → …). */
export const messageCommands: readonly MessageCommand[] = [narrateMessage];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.data.name === name);
}

/** Every command's registration JSON, slash commands first: what Discord is given. */
export function commandDefinitions(): (ReturnType<Command['data']['toJSON']> | ReturnType<MessageCommand['data']['toJSON']>)[] {
  return [...commands.map((c) => c.data.toJSON()), ...messageCommands.map((c) => c.data.toJSON())];
}
