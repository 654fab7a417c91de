/**
 * The slash commands, one module each (builder + handler), and what every handler is given. `bot.ts` dispatches
 * interactions here by name; `scripts/deploy-commands.ts` registers the builders' JSON with Discord.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../services/config.js';
import type { NarrationPlan, NarrationRequest } from '../services/orchestrator.js';
import type { TtsBackend } from '../services/tts/backend.js';
import type { NarrationSource } from '../services/playback/narrationTrack.js';
import type { PlaybackManager } from '../services/playback/playbackManager.js';
import type { Storage } from '../services/storage/types.js';
import { leave } from './leave.js';
import { narrate } from './narrate.js';
import { queue } from './queue.js';
import { skip } from './skip.js';
import { stop } from './stop.js';
import { voices } from './voices.js';

export interface CommandContext {
  readonly config: Config;
  /** The engine's orchestrator: `plan` checks a request synchronously, `narrate` starts it. */
  readonly orchestrator: NarrationSource & {
    plan(request: Pick<NarrationRequest, 'text' | 'voice' | 'speed' | 'maxTextChars' | 'resolveMention' | 'dictionary'>): NarrationPlan;
    /** Spoken characters of the plan not in the cache now: what the daily limits count. */
    charsToSynthesize(plan: NarrationPlan): Promise<number>;
  };
  readonly backend: Pick<TtsBackend, 'kind' | 'listVoices'>;
  readonly playback: PlaybackManager;
  readonly logger: Logger;
  /** Settings, ledger and persisted queue; optional so tests without a database compile (the bot always wires it). */
  readonly storage?: Storage;
  /** Keeps a task that outlives the handler (a narration's reply updates), so shutdown can wait for it. */
  background(task: Promise<unknown>): void;
  /** True once shutdown has begun: no new narration may start (read again after every await). */
  shuttingDown?(): boolean;
}

export interface Command {
  readonly data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void>;
}

export const commands: readonly Command[] = [narrate, stop, skip, queue, leave, voices];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.data.name === name);
}
