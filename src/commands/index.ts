/**
 * The registry of slash commands, one module each (builder + handler). `bot.ts` dispatches interactions here by
 * name; `scripts/deploy-commands.ts` registers the builders' JSON with Discord. The types every module shares live
 * in ./types.js, so no command module needs to import this file.
 */
import { dictionary } from './dictionary.js';
import { leave } from './leave.js';
import { narrate } from './narrate.js';
import { queue } from './queue.js';
import { settings } from './settings.js';
import { skip } from './skip.js';
import { stop } from './stop.js';
import { usage } from './usage.js';
import { voice } from './voice.js';
import { voices } from './voices.js';
import type { Command } from './types.js';

// For the callers that still import the types from here (bot.ts, tests): new code imports ./types.js.
export type { Command, CommandContext } from './types.js';

export const commands: readonly Command[] = [narrate, stop, skip, queue, leave, voices, settings, voice, usage, dictionary];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.data.name === name);
}
