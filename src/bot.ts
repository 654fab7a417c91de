/**
 * The Discord bot: the client, its events, interaction dispatch and graceful shutdown — the one place where the
 * gateway meets the commands. Commands stay thin (src/commands), playback lives in services/playback, and the
 * narration engine knows nothing of Discord.
 *
 * Robustness rules kept here: every handler runs inside try/catch and every failure ends in a short message to
 * the user (never a silent "The application did not respond"); the client's 'error' is listened to (an unhandled
 * 'error' event would kill the process); once shutdown has begun, new commands are answered "restarting" —
 * checked on entry and again by /narrate after its own awaits (CommandContext.shuttingDown) — and shutdown waits
 * (bounded) for the handlers still running, so every reply in flight gets its final answer.
 *
 * The storage (settings, ledger, persisted queue) is opened by the caller and handed over: commands get it in their
 * context; once the client is ready the persisted queue of this process's servers is resumed; at shutdown it is
 * closed last, after the narrations' ledger and queue writes have drained (a suspended narration's entry is kept).
 */
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type CommandInteraction,
  type Interaction,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import type { Logger } from 'pino';
import { commands as allCommands, messageCommands as allMessageCommands, type Command, type CommandContext, type MessageCommand } from './commands/index.js';
import { handleButton } from './commands/buttons.js';
import { SPEED_MAX, SPEED_MIN, type Config } from './services/config.js';
import type { Engine } from './services/engine.js';
import { isNarratorError } from './services/errors.js';
import type { Storage } from './services/storage/types.js';
import { resumeQueue } from './commands/resumeQueue.js';
import { scrub } from './services/log.js';
import { PlaybackManager } from './services/playback/playbackManager.js';
import { DetachedNarrations } from './services/playback/detachedNarrations.js';
import { backendStatus, type StatusBackend, type StatusReport } from './services/status.js';
import { watchVoiceListeners } from './services/playback/voiceListeners.js';
import { errorText, langOf, texts } from './messages.js';

export interface BotDeps {
  readonly config: Config;
  readonly engine: Pick<Engine, 'orchestrator' | 'backend' | 'scheduler' | 'close'> & Partial<Pick<Engine, 'cache' | 'warmUp'>>;
  readonly logger: Logger;
  readonly commands?: readonly Command[];
  /** Message context-menu commands (Apps → Narrate); default: the registry's. */
  readonly messageCommands?: readonly MessageCommand[];
  /** Overrides for tests (shorter voice timeouts). */
  readonly playback?: PlaybackManager;
  /** Settings, ledger and persisted queue (src/services/storage); closed by `shutdown`. */
  readonly storage?: Storage;
}

/**
 * How long shutdown waits for replies to be edited and RunPod jobs to be cancelled before it closes the gateway;
 * with the gateway close it stays well inside index.ts's hard 10 s limit.
 */
const SHUTDOWN_DRAIN_MS = 7_000;

/** Only what the bot uses: guild structure (channels, roles, permissions) and voice states (who is where). */
export function createClient(config: Config): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
    rest: { api: config.discord.apiBaseUrl },
  });
}

export class NarratorBot {
  readonly client: Client;
  readonly playback: PlaybackManager;
  /** `/narrate output:file|voice_message`: narrations without a voice channel. */
  readonly detached: DetachedNarrations;
  private readonly startedAt = performance.now();
  private readonly commands: ReadonlyMap<string, Command>;
  /** Keyed apart from the slash commands: Discord names commands per type ("Narrate" on a message, /narrate). */
  private readonly messageCommands: ReadonlyMap<string, MessageCommand>;
  private readonly context: CommandContext;
  private readonly background = new Set<Promise<unknown>>();
  /** Command handlers still running: shutdown waits for them so their replies are settled. */
  private readonly handlers = new Set<Promise<void>>();
  private shuttingDown = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: BotDeps) {
    this.log = deps.logger;
    this.client = createClient(deps.config);
    this.playback =
      deps.playback ??
      new PlaybackManager({
        idleLeaveMs: deps.config.discord.idleLeaveMs,
        emptyLeaveMs: deps.config.discord.emptyLeaveMs,
        pauseLeaveMs: deps.config.discord.pauseLeaveMs,
        maxQueue: deps.config.discord.maxQueuePerGuild,
        logger: deps.logger,
      });
    this.detached = new DetachedNarrations(deps.config.discord.maxQueuePerGuild);
    this.commands = new Map((deps.commands ?? allCommands).map((c) => [c.data.name, c]));
    this.messageCommands = new Map((deps.messageCommands ?? allMessageCommands).map((c) => [c.data.name, c]));
    this.context = {
      detached: this.detached,
      warmUp: deps.engine.warmUp,
      statusReport: () => this.statusReport(),
      config: deps.config,
      orchestrator: deps.engine.orchestrator,
      backend: deps.engine.backend,
      playback: this.playback,
      logger: deps.logger,
      storage: deps.storage,
      background: (task) => {
        const tracked = task.catch((err: unknown) => this.log.error({ err: describe(err) }, 'background task failed'));
        this.background.add(tracked);
        void tracked.finally(() => this.background.delete(tracked));
      },
      shuttingDown: () => this.shuttingDown,
    };
    this.wireEvents();
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Logs in. Rejects (TokenInvalid, network…) when Discord cannot be reached or refuses the token. */
  async start(): Promise<void> {
    await this.client.login(this.deps.config.discord.token);
    this.deps.engine.warmUp?.start();
  }

  /** What /status shows: the backend's health, the cache, and this process's narrations and scheduler. */
  async statusReport(): Promise<StatusReport> {
    const backend = await backendStatus(this.deps.engine.backend as StatusBackend);
    const sessions = this.playback.all();
    const cache = this.deps.engine.cache;
    const scheduler = this.deps.engine.scheduler;
    return {
      backend,
      cache: cache && { bytes: cache.totalBytes, files: cache.size, ...cache.lookups },
      bot: {
        playing: sessions.filter((s) => s.current !== undefined).length,
        queued: sessions.reduce((n, s) => n + s.waiting.length, 0),
        guilds: sessions.length,
        detached: this.detached.size,
        slotsBusy: scheduler.active,
        slots: scheduler.concurrency,
        chunksWaiting: scheduler.queued - scheduler.held,
        chunksHeld: scheduler.held,
        uptimeSec: (performance.now() - this.startedAt) / 1000,
      },
    };
  }

  private wireEvents(): void {
    const client = this.client;
    client.once(Events.ClientReady, (ready) => {
      this.log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size, shards: ready.ws.shards.size }, 'connected to Discord');
      if (this.shuttingDown) return;
      // Tracked like a handler: shutdown waits for it before the storage closes.
      const resumed = resumeQueue(ready, this.context).catch((err: unknown) => this.log.error({ err: describe(err) }, 'resuming the queue failed'));
      this.handlers.add(resumed);
      void resumed.finally(() => this.handlers.delete(resumed));
    });
    client.on(Events.InteractionCreate, (interaction) => {
      const handled = this.handleInteraction(interaction);
      this.handlers.add(handled);
      void handled.finally(() => this.handlers.delete(handled));
    });
    // Nobody left in the bot's voice channel: pause (no audio, no new GPU jobs), then leave (see GuildSession).
    watchVoiceListeners(client, this.playback);
    client.on(Events.Error, (err) => this.log.error({ err: describe(err) }, 'discord client error'));
    client.on(Events.Warn, (message) => this.log.warn({ message: scrub(message) }, 'discord client warning'));
    client.on(Events.ShardError, (err, shardId) => this.log.error({ shardId, err: describe(err) }, 'gateway error'));
    client.on(Events.ShardDisconnect, (event, shardId) => this.log.warn({ shardId, code: event.code }, 'gateway disconnected'));
    client.on(Events.ShardReconnecting, (shardId) => {
      if (!this.shuttingDown) this.log.info({ shardId }, 'gateway reconnecting');
    });
    client.on(Events.ShardResume, (shardId, replayed) => this.log.info({ shardId, replayed }, 'gateway resumed'));
    if (this.log.isLevelEnabled('trace')) client.on(Events.Debug, (message) => this.log.trace({ message: scrub(message) }, 'discord debug'));
  }

  /** Routes one interaction to its command; never throws. */
  async handleInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) return this.handleAutocomplete(interaction);
    if (interaction.isChatInputCommand()) return this.runCommand(interaction, this.commands.get(interaction.commandName));
    if (interaction.isMessageContextMenuCommand()) return this.runCommand(interaction, this.messageCommands.get(interaction.commandName));
    // Player buttons on narration replies (⏮ ⏯ ⏭ ⏹): commands/buttons.ts, which never throws.
    if (interaction.isButton()) return handleButton(interaction, this.context);
  }

  /** Runs a command's handler: "restarting" during shutdown, and every failure ends in a message to the user. */
  private async runCommand<I extends ChatInputCommandInteraction | MessageContextMenuCommandInteraction>(
    interaction: I,
    command: { execute(interaction: I, ctx: CommandContext): Promise<void> } | undefined,
  ): Promise<void> {
    const started = performance.now();
    try {
      if (this.shuttingDown) {
        await interaction.reply({ content: texts(langOf(interaction.locale)).shuttingDown(), flags: MessageFlags.Ephemeral });
        return;
      }
      if (!command) throw new Error(`Unknown command ${interaction.commandName}`);
      await command.execute(interaction, this.context);
      this.log.debug({ command: interaction.commandName, guild: interaction.guildId, ms: Math.round(performance.now() - started) }, 'command handled');
    } catch (err) {
      this.log.error({ command: interaction.commandName, guild: interaction.guildId, err: describe(err) }, 'command failed');
      await this.reportFailure(interaction, err);
    }
  }

  private async handleAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
    try {
      const command = this.commands.get(interaction.commandName);
      if (this.shuttingDown || !command?.autocomplete) {
        await interaction.respond([]);
        return;
      }
      await command.autocomplete(interaction, this.context);
    } catch (err) {
      this.log.warn({ command: interaction.commandName, err: describe(err) }, 'autocomplete failed');
      if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
    }
  }

  /** Tells the user what went wrong, in whatever way the interaction still allows. */
  private async reportFailure(interaction: CommandInteraction, err: unknown): Promise<void> {
    const content = errorText(langOf(interaction.locale), err, {
      voices: this.deps.config.voices,
      speedMin: SPEED_MIN,
      speedMax: SPEED_MAX,
      maxQueue: this.deps.config.discord.maxQueuePerGuild,
    });
    try {
      if (interaction.deferred && !interaction.replied) await interaction.editReply({ content, allowedMentions: { parse: [] } });
      else if (interaction.replied) await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
      else await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } catch (replyErr) {
      this.log.warn({ err: describe(replyErr) }, 'could not report a command failure to the user');
    }
  }

  /**
   * Graceful shutdown: refuse new commands, cancel every narration (their RunPod jobs are cancelled by the engine)
   * and tell their requesters, leave the voice channels, then close the engine and the gateway. Idempotent.
   * The caller enforces the overall deadline (index.ts: 10 s).
   */
  shutdown(reason: string): Promise<void> {
    this.shutdownPromise ??= this.runShutdown(reason);
    return this.shutdownPromise;
  }

  private async runShutdown(reason: string): Promise<void> {
    this.shuttingDown = true;
    this.log.info({ reason, sessions: this.playback.size }, 'shutting down');
    // Cancels every narration: queued ones never start, running GPU jobs get their /cancel from the engine, and
    // each requester's reply is edited to say the bot is shutting down — or, for a narration stored in the persisted
    // queue, that it will continue after the restart (its entry and reservation are kept: narrationLedger.ts).
    this.playback.shutdown();
    this.detached.shutdown();
    const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
    // Both in parallel, bounded: the replies' final edits, and the engine draining its cancelled jobs.
    const engineClosed = this.deps.engine.close().catch((err: unknown) => this.log.warn({ err: describe(err) }, 'engine close failed'));
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      // Handlers first: one may still queue a reply task (it sees the flag and refuses, or was accepted just before).
      Promise.allSettled([...this.handlers]).then(() => Promise.allSettled([...this.background, engineClosed])),
      new Promise((resolve) => (drainTimer = setTimeout(resolve, SHUTDOWN_DRAIN_MS))),
    ]);
    clearTimeout(drainTimer);
    while (this.deps.engine.scheduler.active > 0 && Date.now() < deadline) await delay(50);
    if (this.deps.engine.scheduler.active > 0) {
      this.log.warn({ active: this.deps.engine.scheduler.active }, 'jobs still running at shutdown');
    }
    await this.client.destroy();
    // Last: the ledger settlements and the suspended narrations' queue entries were written by the tasks above.
    if (this.deps.storage) await this.deps.storage.close().catch((err: unknown) => this.log.warn({ err: describe(err) }, 'storage close failed'));
    this.log.info('shut down');
  }
}

/** Kept referenced on purpose: during shutdown these waits may be all that keeps the event loop alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loggable form of an error: NarratorError fields (detail included: logs only), secrets scrubbed. */
export function describe(err: unknown): unknown {
  if (isNarratorError(err)) return { kind: err.kind, code: err.code, message: scrub(err.message), detail: err.detail && scrub(err.detail) };
  if (err instanceof Error) return { name: err.name, message: scrub(err.message), stack: err.stack && scrub(err.stack) };
  return scrub(String(err));
}
