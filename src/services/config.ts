/**
 * The one typed, frozen configuration, read from the environment (and `.env` via dotenv) through a single zod
 * schema. A bad value stops the process at start with one line per bad variable; secrets are never echoed,
 * not even inside those messages (zod would otherwise quote the received value).
 */
import { z } from 'zod';
import { NarratorError } from './errors.js';
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from './storage/url.js';

export const BACKENDS = ['runpod', 'flask', 'local'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Voice names become file names on the worker: a strict allow-list alphabet, never free text. */
export const VOICE_NAME = /^(?!.*\.\.)[A-Za-z0-9_.-]{1,64}$/;
export const SPEED_MIN = 0.5;
export const SPEED_MAX = 2.0;

const SECRET_VARS = new Set(['RUNPOD_API_KEY', 'DISCORD_TOKEN', 'DATABASE_URL']);

const optionalString = z.string().trim().optional();
const url = z
  .string()
  .trim()
  .refine((s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'must be an http(s) URL')
  .transform((s) => s.replace(/\/+$/, ''));
const int = (min: number, max: number) =>
  z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const num = (min: number, max: number) =>
  z.coerce.number({ error: 'must be a number' }).min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`);

const schema = z
  .object({
    RUNPOD_API_KEY: optionalString,
    RUNPOD_ENDPOINT_ID: z.string().trim().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a RunPod endpoint id (letters, digits, - and _)').optional(),
    RUNPOD_BASE_URL: url.default('https://api.runpod.ai/v2'),
    RUNPOD_BACKOFF_MS: int(1, 60_000).default(250),
    // Warm-up (issue 12): one tiny job at start-up; keep one worker warm this many minutes after the last narration.
    RUNPOD_WARM_ON_START: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
    RUNPOD_KEEP_WARM_MIN: int(0, 24 * 60).default(0),
    WORKER_DOWNLOAD_HOSTS: z
      .string()
      .default('')
      .transform((s) => [...new Set(s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))])
      .pipe(z.array(z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+|[0-9a-f:]+)(:\d{1,5})?$/, 'must list hosts as host or host:port, comma-separated'))),
    MAX_AUDIO_BYTES: int(64 * 1024, 1024 * 1024 * 1024).default(32 * 1024 * 1024),
    F5_TTS_API_URL: url.optional(),
    TTS_BACKEND: z.enum(BACKENDS).optional(),
    MAX_CONCURRENT_JOBS: int(1, 64).default(6),
    REF_NAME_TEMPLATE: z.string().includes('{voice}', { message: 'must contain {voice}' }).default('sample/{voice}.wav'),
    TTS_VOICES: z
      .string()
      .default('narrator')
      .transform((s) => [...new Set(s.split(',').map((v) => v.trim()).filter(Boolean))])
      .pipe(
        z.array(z.string().regex(VOICE_NAME, 'voice names may only use letters, digits, _ . - (no "..")')).min(1, 'must list at least one voice'),
      ),
    DEFAULT_VOICE: optionalString,
    DEFAULT_SPEED: num(SPEED_MIN, SPEED_MAX).default(0.9),
    CACHE_DIR: z.string().default('.cache/narrator'),
    CACHE_MAX_MB: int(0, 1_000_000).default(512),
    JOB_TIMEOUT_SEC: int(10, 3600).default(300),
    NARRATION_TIMEOUT_SEC: int(10, 7200).default(1800),
    // How far ahead of the listener a voice narration is synthesized (issue 11): what a /stop wastes, what memory holds.
    SYNTH_LOOKAHEAD_SEC: int(10, 86_400).default(120),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    DISCORD_TOKEN: optionalString,
    DISCORD_CLIENT_ID: z.string().trim().regex(/^\d{5,25}$/, 'must be a numeric Discord id').optional(),
    DISCORD_GUILD_ID: z.string().trim().regex(/^\d{5,25}$/, 'must be a numeric Discord id').optional(),
    DISCORD_API_BASE_URL: url.default('https://discord.com/api'),
    VOICE_IDLE_LEAVE_SEC: int(0, 86_400).default(300),
    VOICE_EMPTY_LEAVE_SEC: int(0, 86_400).default(60),
    VOICE_PAUSE_LEAVE_SEC: int(0, 86_400).default(900),
    MAX_QUEUE_PER_GUILD: int(1, 100).default(10),
    DATABASE_URL: z
      .string()
      .trim()
      .default(DEFAULT_DATABASE_URL)
      .superRefine((s, ctx) => {
        try {
          parseDatabaseUrl(s);
        } catch (err) {
          // parseDatabaseUrl's messages start with the variable's name and never quote the URL (it may hold a password).
          ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message.replace(/^DATABASE_URL /, '') : 'is invalid' });
        }
      }),
    GPU_PRICE_PER_SECOND: num(0, 1).default(0.00019),
    // Text files (/narrate file:, the "Narrate" message command): largest download, and the default spoken limit.
    MAX_FILE_BYTES: int(1024, 25 * 1024 * 1024).default(1024 * 1024),
    MAX_FILE_CHARS: int(100, 1_000_000).default(100_000),
  })
  .superRefine((c, ctx) => {
    if (c.TTS_BACKEND === 'runpod') {
      if (!c.RUNPOD_API_KEY) ctx.addIssue({ code: 'custom', path: ['RUNPOD_API_KEY'], message: 'is required when TTS_BACKEND=runpod' });
      if (!c.RUNPOD_ENDPOINT_ID) ctx.addIssue({ code: 'custom', path: ['RUNPOD_ENDPOINT_ID'], message: 'is required when TTS_BACKEND=runpod' });
    }
    if (c.TTS_BACKEND === 'flask' && !c.F5_TTS_API_URL) {
      ctx.addIssue({ code: 'custom', path: ['F5_TTS_API_URL'], message: 'is required when TTS_BACKEND=flask' });
    }
    if (c.DEFAULT_VOICE !== undefined && !c.TTS_VOICES.includes(c.DEFAULT_VOICE)) {
      ctx.addIssue({ code: 'custom', path: ['DEFAULT_VOICE'], message: `must be one of TTS_VOICES (${c.TTS_VOICES.join(', ')})` });
    }
  });

export interface Config {
  readonly backend: (typeof BACKENDS)[number];
  readonly runpod: {
    readonly apiKey?: string;
    readonly endpointId?: string;
    readonly baseUrl: string;
    /** Backoff base of API retries (429/5xx, /cancel), ms. */
    readonly backoffMs: number;
    /** Hosts the worker's download/confirmation URLs may use over http or at private addresses. */
    readonly workerDownloadHosts: readonly string[];
    /** Send one tiny job at start-up so the first narration does not pay the cold start (RUNPOD_WARM_ON_START). */
    readonly warmOnStart: boolean;
    /** Keep one worker warm this many minutes after the last narration; 0 = off (RUNPOD_KEEP_WARM_MIN). */
    readonly keepWarmMin: number;
  };
  /** Largest audio accepted from a worker (download or inline), bytes. */
  readonly maxAudioBytes: number;
  readonly flaskUrl?: string;
  readonly maxConcurrentJobs: number;
  readonly refNameTemplate: string;
  readonly voices: readonly string[];
  readonly defaultVoice: string;
  readonly defaultSpeed: number;
  readonly cacheDir: string;
  readonly cacheMaxBytes: number;
  readonly jobTimeoutMs: number;
  readonly narrationTimeoutMs: number;
  /** A narration played in voice synthesizes at most this far (ms) ahead of what the listener hears. */
  readonly synthLookaheadMs: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly discord: {
    readonly token?: string;
    readonly clientId?: string;
    readonly guildId?: string;
    /** REST base without the version (discord.js appends /v10). */
    readonly apiBaseUrl: string;
    /** Leave the voice channel after this long with nothing to play (0 = stay). */
    readonly idleLeaveMs: number;
    /** With nobody (but bots) in the voice channel: pause at once, leave after this long (0 = leave at once). */
    readonly emptyLeaveMs: number;
    /** Paused by a user (/pause, ⏯) for this long: leave (0 = no limit). */
    readonly pauseLeaveMs: number;
    readonly maxQueuePerGuild: number;
  };
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://…` (may hold a password: never log it unscrubbed). */
  readonly databaseUrl: string;
  /** USD per GPU second, for the estimated cost in /usage and `npm run usage` (RunPod 24 GB tier by default). */
  readonly gpuPricePerSecond: number;
  /** Largest text file read (declared size, then while downloading), bytes (MAX_FILE_BYTES). */
  readonly maxFileBytes: number;
  /** Spoken characters of a file narration when the server set no per-narration limit (MAX_FILE_CHARS). */
  readonly maxFileChars: number;
}

/**
 * Builds the config from an environment map (`process.env` by default, after loading `.env`).
 * Throws NarratorError('config') listing every bad variable; never includes a secret's value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A variable set to nothing (`MAX_CONCURRENT_JOBS=` in .env, an unset `${VAR}` in docker-compose) means "unset".
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'config');
      // Our own (custom) messages never quote a value; for secrets, any other message is replaced to be sure.
      const why = SECRET_VARS.has(name) && issue.code !== 'custom' ? 'is invalid' : issue.message;
      return `  ${name} ${why}`;
    });
    throw new NarratorError('config', 'bad_config', `Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const backend =
    c.TTS_BACKEND ?? (c.RUNPOD_API_KEY && c.RUNPOD_ENDPOINT_ID ? 'runpod' : c.F5_TTS_API_URL ? 'flask' : 'local');
  const config: Config = {
    backend,
    runpod: {
      apiKey: c.RUNPOD_API_KEY,
      endpointId: c.RUNPOD_ENDPOINT_ID,
      baseUrl: c.RUNPOD_BASE_URL,
      backoffMs: c.RUNPOD_BACKOFF_MS,
      workerDownloadHosts: Object.freeze([...c.WORKER_DOWNLOAD_HOSTS]),
      warmOnStart: c.RUNPOD_WARM_ON_START,
      keepWarmMin: c.RUNPOD_KEEP_WARM_MIN,
    },
    maxAudioBytes: c.MAX_AUDIO_BYTES,
    flaskUrl: c.F5_TTS_API_URL,
    maxConcurrentJobs: c.MAX_CONCURRENT_JOBS,
    refNameTemplate: c.REF_NAME_TEMPLATE,
    voices: Object.freeze([...c.TTS_VOICES]),
    defaultVoice: c.DEFAULT_VOICE ?? c.TTS_VOICES[0] ?? 'narrator',
    defaultSpeed: c.DEFAULT_SPEED,
    cacheDir: c.CACHE_DIR,
    cacheMaxBytes: c.CACHE_MAX_MB * 1024 * 1024,
    jobTimeoutMs: c.JOB_TIMEOUT_SEC * 1000,
    narrationTimeoutMs: c.NARRATION_TIMEOUT_SEC * 1000,
    synthLookaheadMs: c.SYNTH_LOOKAHEAD_SEC * 1000,
    logLevel: c.LOG_LEVEL,
    discord: {
      token: c.DISCORD_TOKEN,
      clientId: c.DISCORD_CLIENT_ID,
      guildId: c.DISCORD_GUILD_ID,
      apiBaseUrl: c.DISCORD_API_BASE_URL,
      idleLeaveMs: c.VOICE_IDLE_LEAVE_SEC * 1000,
      emptyLeaveMs: c.VOICE_EMPTY_LEAVE_SEC * 1000,
      pauseLeaveMs: c.VOICE_PAUSE_LEAVE_SEC * 1000,
      maxQueuePerGuild: c.MAX_QUEUE_PER_GUILD,
    },
    databaseUrl: c.DATABASE_URL,
    gpuPricePerSecond: c.GPU_PRICE_PER_SECOND,
    maxFileBytes: c.MAX_FILE_BYTES,
    maxFileChars: c.MAX_FILE_CHARS,
  };
  return deepFreeze(config);
}

/** Loads `.env` (if present, without overriding real environment variables) and then the config. */
export async function loadConfigFromEnv(): Promise<Config> {
  const dotenv = await import('dotenv');
  dotenv.config({ quiet: true });
  return loadConfig(process.env);
}

/** For entry points: the config, or — on a bad value — the reasons on stderr and exit code 2. */
export async function loadConfigOrExit(hint = ''): Promise<Config> {
  try {
    return await loadConfigFromEnv();
  } catch (err) {
    if (err instanceof NarratorError && err.kind === 'config') {
      process.stderr.write(`${err.message}\n${hint}`);
      process.exit(2);
    }
    throw err;
  }
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}
