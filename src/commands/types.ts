/**
 * What every command module is and what every handler is given. In a file of its own so the command modules and
 * the registry (index.ts) both import from here and never from each other: the import graph stays acyclic.
 */
import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../services/config.js';
import type { NarrationPlan, NarrationRequest } from '../services/orchestrator.js';
import type { TtsBackend } from '../services/tts/backend.js';
import type { NarrationSource } from '../services/playback/narrationTrack.js';
import type { PlaybackManager } from '../services/playback/playbackManager.js';
import type { Storage } from '../services/storage/types.js';
import type { DetachedNarrations } from '../services/playback/detachedNarrations.js';
import type { StatusReport } from '../services/status.js';
import type { WarmUp } from '../services/tts/warmup.js';

export interface CommandContext {
  readonly config: Config;
  /** The engine's orchestrator: `plan` checks a request synchronously, `narrate` starts it. */
  readonly orchestrator: NarrationSource & {
    plan(request: Pick<NarrationRequest, 'text' | 'voice' | 'speed' | 'maxTextChars' | 'resolveMention' | 'dictionary'>): NarrationPlan;
    /** Spoken characters of the plan not in the cache now: what the daily limits count (narrate.ts). */
    charsToSynthesize(plan: NarrationPlan): Promise<number>;
  };
  readonly backend: Pick<TtsBackend, 'kind' | 'listVoices'>;
  readonly playback: PlaybackManager;
  readonly logger: Logger;
  /**
   * Settings, preferences, dictionary and usage ledger. Optional so a bot (or a test) without a database still
   * runs: the commands that need it then answer "settings are not available".
   */
  readonly storage?: Storage;
  /** Keeps a task that outlives the handler (a narration's reply updates), so shutdown can wait for it. */
  background(task: Promise<unknown>): void;
  /** True once shutdown has begun: no new narration may start (read again after every await). */
  shuttingDown?(): boolean;
  /** Narrations with `output:file` / `output:voice_message` (no voice channel); /stop and shutdown cancel them. */
  readonly detached?: DetachedNarrations;
  /** RunPod only: the cold-start notice and keep-warm (told about each narration). */
  readonly warmUp?: WarmUp;
  /** Everything /status shows (backend health, cache, bot state). */
  statusReport?(): Promise<StatusReport>;
}

/** A slash command (`/name …`). */
export interface Command {
  readonly data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void>;
}

/**
 * A message context-menu command (Apps → name, on a message). Its own type rather than a widened Command: Discord
 * keys commands by type and name, and its handler gets a different interaction (the target message, no options).
 */
export interface MessageCommand {
  readonly data: { readonly name: string; toJSON(): RESTPostAPIContextMenuApplicationCommandsJSONBody };
  execute(interaction: MessageContextMenuCommandInteraction, ctx: CommandContext): Promise<void>;
}
