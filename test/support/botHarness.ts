/**
 * The real bot as end-to-end tests run it: `src/index.ts` in a child process (real discord.js, @discordjs/voice and
 * Opus, real configuration loading, real signal handling), pointed at the fake Discord and, usually, the RunPod
 * emulator. A child process rather than an in-process client because that is how the bot runs in production —
 * its exit code, its shutdown within 10 s and its logs are part of what the tests check.
 *
 * The child gets an isolated configuration: every setting the bot reads is removed from the inherited environment
 * and only the test's are set, so a developer's shell or `.env` cannot leak in; the working directory is a fresh
 * temporary folder (no `.env` there) that also holds the audio cache.
 *
 * Also here: the few world-building and waiting helpers every e2e file needs (a guild with a text and a voice
 * channel and some users; a bounded poll for state the fake does not observe, such as the emulator's jobs).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandDefinitions as allCommandDefinitions } from '../../src/commands/index.js';
import type { FakeChannel, FakeDiscord, FakeGuild, Invocation } from './fakeDiscord/index.js';
import type { RunPodEmulator } from './runpodEmulator.js';

const ENTRY = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Every variable src/services/config.ts reads: removed from the inherited environment, so only the test's apply. */
const CONFIG_VARS = [
  'RUNPOD_API_KEY',
  'RUNPOD_ENDPOINT_ID',
  'RUNPOD_BASE_URL',
  'RUNPOD_WARM_ON_START',
  'RUNPOD_KEEP_WARM_MIN',
  'F5_TTS_API_URL',
  'TTS_BACKEND',
  'MAX_CONCURRENT_JOBS',
  'REF_NAME_TEMPLATE',
  'TTS_VOICES',
  'DEFAULT_VOICE',
  'DEFAULT_SPEED',
  'CACHE_DIR',
  'CACHE_MAX_MB',
  'JOB_TIMEOUT_SEC',
  'NARRATION_TIMEOUT_SEC',
  'SYNTH_LOOKAHEAD_SEC',
  'LOG_LEVEL',
  'DISCORD_TOKEN',
  'DISCORD_CLIENT_ID',
  'DISCORD_GUILD_ID',
  'DISCORD_API_BASE_URL',
  'VOICE_IDLE_LEAVE_SEC',
  'VOICE_EMPTY_LEAVE_SEC',
  'VOICE_PAUSE_LEAVE_SEC',
  'MAX_QUEUE_PER_GUILD',
  'DATABASE_URL',
  'GPU_PRICE_PER_SECOND',
  'MAX_FILE_BYTES',
  'MAX_FILE_CHARS',
] as const;

/** The index.ts hard limit on shutdown; a clean stop must beat it. */
export const SHUTDOWN_LIMIT_MS = 10_000;

/** The bot's commands as registered with Discord (pass to `FakeDiscord.start({ commands })`). */
export function commandDefinitions(): unknown[] {
  return allCommandDefinitions();
}

export interface StartBotOptions {
  readonly fake: FakeDiscord;
  /** Use this RunPod emulator as the TTS backend (TTS_BACKEND=runpod and the RUNPOD_* settings). */
  readonly runpod?: Pick<RunPodEmulator, 'baseUrl' | 'endpointId' | 'apiKey'>;
  /** More settings (they win over the defaults above), e.g. `{ TTS_VOICES: 'a,b', NARRATION_TIMEOUT_SEC: '10' }`. */
  readonly env?: Readonly<Partial<Record<(typeof CONFIG_VARS)[number], string>>>;
  /** How long start-up may take (default 60 s: a tsx child needs 1–3 s alone, far more while the suite loads both cores). */
  readonly readyTimeoutMs?: number;
}

export interface BotExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From the stop signal to the exit. */
  readonly ms: number;
}

/** One line of the bot's pino log (stderr, JSON). */
export interface BotLogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** Log messages that mean something escaped every handler: a healthy run never logs them. */
const ESCAPED = ['uncaught exception', 'unhandled promise rejection'];

export class BotProcess {
  #stdout = '';
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    /** The bot's working directory (temporary; removed by `dispose`). */
    readonly cwd: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.#stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get stdout(): string {
    return this.#stdout;
  }

  /** Everything the bot wrote to stderr: its pino log (JSON lines) and any plain-text message. */
  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The parsed log lines so far (non-JSON lines are skipped). */
  logs(): BotLogLine[] {
    const lines: BotLogLine[] = [];
    for (const line of this.#stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as Partial<BotLogLine>;
        if (typeof parsed.level === 'number' && typeof parsed.msg === 'string') lines.push(parsed as BotLogLine);
      } catch {
        // A partial line (still being written): the next call sees it whole.
      }
    }
    return lines;
  }

  /** The end of the log, for assertion messages. */
  tail(chars = 3000): string {
    return this.#stderr.slice(-chars);
  }

  /** Resolves when the process exits (for races against start-up or waits). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited;
  }

  /** Sends `signal` and waits for the exit (at most `timeoutMs`, then SIGKILL and a rejection). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = SHUTDOWN_LIMIT_MS + 5_000): Promise<BotExit> {
    const started = performance.now();
    if (this.#exit) return { ...this.#exit, ms: 0 };
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.#exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`the bot did not exit within ${timeoutMs} ms of ${signal}:\n${this.tail()}`);
    }
    return { ...result, ms: performance.now() - started };
  }

  /**
   * SIGTERM, then asserts a clean exit: code 0, within the 10 s shutdown limit, and nothing escaped the bot's
   * handlers during the whole run (no "uncaught exception" / "unhandled promise rejection" in its log).
   */
  async stopCleanly(): Promise<BotExit> {
    const exit = await this.stop('SIGTERM');
    assert.equal(exit.code, 0, `exit code ${String(exit.code)} (${String(exit.signal)}):\n${this.tail()}`);
    assert.ok(exit.ms < SHUTDOWN_LIMIT_MS, `shutdown took ${Math.round(exit.ms)} ms`);
    this.assertNothingEscaped();
    return exit;
  }

  assertNothingEscaped(): void {
    const escaped = this.logs().filter((l) => ESCAPED.includes(l.msg));
    assert.deepEqual(escaped, [], 'errors escaped the bot’s handlers');
  }

  /** Kills the process if it still runs and removes its working directory. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#exit === undefined) {
      this.child.kill('SIGKILL');
      await this.#exited;
    }
    await rm(this.cwd, { recursive: true, force: true });
  }
}

/**
 * Starts `src/index.ts` as a child process and resolves once it has logged in and logged "connected to Discord"
 * (its `clientReady`); rejects — with its log — if it exits or does not get there in time.
 */
export async function startBot(opts: StartBotOptions): Promise<BotProcess> {
  const { fake } = opts;
  const cwd = await mkdtemp(join(tmpdir(), 'narrator-e2e-'));
  // The parent's environment minus every bot setting (so none leaks in from a developer's shell), plus ours.
  const env = fake.childEnv();
  for (const name of CONFIG_VARS) delete env[name];
  Object.assign(env, {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE_URL: fake.restUrl,
    CACHE_DIR: join(cwd, 'cache'),
    LOG_LEVEL: 'info',
  });
  if (opts.runpod) {
    Object.assign(env, {
      TTS_BACKEND: 'runpod',
      RUNPOD_API_KEY: opts.runpod.apiKey,
      RUNPOD_ENDPOINT_ID: opts.runpod.endpointId,
      RUNPOD_BASE_URL: opts.runpod.baseUrl,
    });
  }
  Object.assign(env, opts.env);
  const child = spawn(process.execPath, ['--import', TSX, ENTRY], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const bot = new BotProcess(child, cwd);
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const started = performance.now();
  try {
    await Promise.race([
      (async () => {
        await fake.waitForBotReady(timeoutMs);
        // The gateway session exists; wait for the bot's own clientReady (logged) so commands meet a ready client.
        await pollUntil(() => bot.logs().some((l) => l.msg === 'connected to Discord') || undefined, timeoutMs - (performance.now() - started), 'the bot to log "connected to Discord"');
      })(),
      bot.exited().then(({ code, signal }) => {
        throw new Error(`the bot exited (${String(code ?? signal)}) before it was ready:\n${bot.tail()}`);
      }),
    ]);
  } catch (err) {
    await bot.dispose();
    throw err;
  }
  return bot;
}

import { pollUntil } from './wait.js';

export { pollUntil };

export interface VoiceGuild {
  readonly guild: FakeGuild;
  readonly text: FakeChannel;
  readonly voice: FakeChannel;
  /** User ids by the names given. */
  readonly users: Readonly<Record<string, string>>;
}

/**
 * A guild with a #general text channel and a "Lounge" voice channel, and members with these names; the ones in
 * `inVoice` (default: all) are in the voice channel.
 */
export function createVoiceGuild(fake: FakeDiscord, name: string, members: readonly string[], inVoice: readonly string[] = members): VoiceGuild {
  const guild = fake.createGuild({ name });
  const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
  const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
  const users: Record<string, string> = {};
  for (const member of members) {
    const id = fake.createUser({ username: member, guilds: [guild.id] }).id;
    users[member] = id;
    if (inVoice.includes(member)) fake.userJoinVoice(id, voice.id);
  }
  return { guild, text, voice, users };
}

/** A message's text content as the bot sent it (edits and callbacks carry it in different places). */
export function contentOf(record: { readonly payload?: unknown; readonly data?: unknown }): string {
  const body = (record.payload ?? record.data) as { content?: unknown } | undefined;
  return typeof body?.content === 'string' ? body.content : '';
}

/**
 * How a /narrate ended for its user: accepted (the reply ends with the audio) or refused (an ephemeral answer —
 * at once, or after a defer when the checks took long: then the placeholder is replaced by an ephemeral follow-up).
 */
export async function narrationOutcome(
  inv: { acknowledged(): Promise<{ type: number; data?: unknown }>; waitForEdit: Invocation['waitForEdit']; waitForFollowUp: Invocation['waitForFollowUp'] },
  timeoutMs = 90_000,
): Promise<{ readonly accepted: boolean; readonly content: string }> {
  const first = await inv.acknowledged();
  if (first.type !== 5) return { accepted: false, content: contentOf(first) };
  const done = inv.waitForEdit((e) => e.files.length > 0, timeoutMs).then((e) => ({ accepted: true, content: contentOf(e) }));
  const refused = inv.waitForFollowUp(() => true, timeoutMs).then((f) => ({ accepted: false, content: contentOf(f) }));
  // The other wait fails when the fake closes: nobody needs its answer.
  done.catch(() => undefined);
  refused.catch(() => undefined);
  return Promise.race([done, refused]);
}
