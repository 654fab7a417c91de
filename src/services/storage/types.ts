/**
 * What the bot keeps between restarts, as one interface: server settings, member preferences, the pronunciation
 * dictionary, the usage ledger with its budget reservations, and the narration queue. Engine-level (no Discord
 * types): ids are strings, times are epoch milliseconds. Two engines implement it through one query layer (SQLite
 * embedded by default, Postgres to share state between processes); callers never know which.
 *
 * Limits are enforced by `reserve`, in one transaction: two narrations racing for the last characters of a budget
 * (in one process, or in two processes on one Postgres) cannot both pass.
 */

/** A server's settings; every field has a default so `get` never fails for an unknown server. */
export interface GuildSettings {
  readonly guildId: string;
  /** Server default voice/speed; undefined = the config default. */
  readonly voice?: string;
  readonly speed?: number;
  /** Spoken characters per narration; undefined = the bot's default (6000 typed, higher for files). */
  readonly maxChars?: number;
  /** Whole server, per UTC day; 0 = unlimited. */
  readonly dailyChars: number;
  /** Per member, per UTC day; 0 = unlimited. */
  readonly userDailyChars: number;
  /** Seconds a member waits between two narrations; 0 = none. */
  readonly cooldownSec: number;
  /** Only members with this role may narrate; undefined = everyone. */
  readonly roleId?: string;
  /** Voice-tag aliases (lower-case alias → configured voice), for multi-voice scripts. */
  readonly aliases: Readonly<Record<string, string>>;
}

export type GuildSettingsPatch = Partial<Omit<GuildSettings, 'guildId' | 'aliases'>> & {
  /** Optional fields to clear back to their default. */
  readonly clear?: readonly ('voice' | 'speed' | 'maxChars' | 'roleId')[];
};

export interface MemberPrefs {
  readonly voice?: string;
  readonly speed?: number;
}

export interface DictionaryEntry {
  /** As typed by the admin; matching is whole-word and case-insensitive. */
  readonly word: string;
  readonly say: string;
}

/** What a narration asks for before it is queued. */
export interface ReserveRequest {
  readonly guildId: string;
  readonly userId: string;
  /** Spoken characters of the whole narration (the cleaned text). */
  readonly charsAsked: number;
  /** Of those, the characters that need synthesis (not in the cache): what the daily limits count. */
  readonly charsToSynthesize: number;
  readonly chunks: number;
  /** Epoch ms; tests pass a fixed clock. */
  readonly now: number;
}

export type LimitName = 'max_chars' | 'daily_chars' | 'user_daily_chars' | 'cooldown';

export type ReserveResult =
  | { readonly ok: true; readonly narrationId: string }
  | {
      readonly ok: false;
      readonly limit: LimitName;
      /** The limit's value (characters, or seconds for the cooldown). */
      readonly limitValue: number;
      /** Already used today (characters), or seconds since the last narration for the cooldown; 0 for max_chars. */
      readonly used: number;
      /**
       * What this narration asked for (characters): `charsToSynthesize` for the daily limits (cached characters do
       * not count), `charsAsked` for max_chars and the cooldown.
       */
      readonly asked: number;
      /** Epoch ms at which the limit resets (next UTC midnight, or the end of the cooldown; `now` for max_chars). */
      readonly resetsAt: number;
    };

export type NarrationOutcome = 'completed' | 'failed' | 'cancelled';

/** What a finished narration actually cost; frees whatever of the reservation it did not synthesize. */
export interface SettleRequest {
  readonly narrationId: string;
  readonly outcome: NarrationOutcome;
  /** Characters actually synthesized (cache misses that reached the worker). */
  readonly charsSynthesized: number;
  readonly chunks: number;
  readonly cacheHits: number;
  /** GPU seconds billed (RunPod executionTime; measured for Flask; 0 for the local backend). */
  readonly gpuSeconds: number;
  readonly now: number;
}

export interface UsageRow {
  readonly narrations: number;
  readonly charsAsked: number;
  readonly charsSynthesized: number;
  readonly gpuSeconds: number;
  readonly cacheHits: number;
}

export interface UsageReport {
  readonly today: UsageRow;
  readonly last30Days: UsageRow;
  /** Top members over the last 30 days by GPU seconds (at most 10). */
  readonly topMembers: readonly (UsageRow & { readonly userId: string })[];
}

/** A narration waiting (or playing) in a server's queue, enough to start it again after a restart. */
export interface PersistedNarration {
  readonly narrationId: string;
  readonly guildId: string;
  readonly voiceChannelId: string;
  readonly textChannelId: string;
  readonly userId: string;
  /** The cleaned, dictionary-applied text is re-derived from this. */
  readonly text: string;
  readonly voice: string;
  readonly speed: number;
  readonly locale: string;
  /** What the reply quotes instead of the text (a file's name), so a resumed narration's reply still says it. */
  readonly quote?: string;
  /** The line under the reply's status naming where the text came from (the message read, as a link). */
  readonly sourceLink?: string;
  /** Interaction webhook token + application id, to edit the reply while the token is valid (15 min). */
  readonly interactionToken?: string;
  readonly applicationId?: string;
  readonly createdAt: number;
  /** Position in the server's queue (0 = playing). */
  readonly position: number;
  /** Index of the chunk playback had reached (resume from there). */
  readonly resumeChunk: number;
}

export interface Storage {
  /** `sqlite` or `postgres`, for logs and /status. */
  readonly engine: 'sqlite' | 'postgres';

  getSettings(guildId: string): Promise<GuildSettings>;
  updateSettings(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettings>;
  setAlias(guildId: string, alias: string, voice: string | undefined): Promise<GuildSettings>;
  resetSettings(guildId: string): Promise<GuildSettings>;

  getMember(guildId: string, userId: string): Promise<MemberPrefs | undefined>;
  setMember(guildId: string, userId: string, prefs: MemberPrefs): Promise<void>;
  resetMember(guildId: string, userId: string): Promise<void>;

  listDictionary(guildId: string): Promise<DictionaryEntry[]>;
  /** Adds or replaces; refuses past the per-server count limit (throws NarratorError('user', 'dictionary_full')). */
  addDictionary(guildId: string, entry: DictionaryEntry): Promise<void>;
  /** Returns whether the word was there. */
  removeDictionary(guildId: string, word: string): Promise<boolean>;

  /** Checks every limit and records a reserved ledger row, atomically. */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /** Idempotent: settling twice keeps the first. */
  settle(request: SettleRequest): Promise<void>;
  usage(guildId: string, now: number): Promise<UsageReport>;
  memberUsage(guildId: string, userId: string, now: number): Promise<UsageReport>;
  /** Every server, for `npm run usage`. */
  usageByGuild(now: number): Promise<(UsageReport & { readonly guildId: string })[]>;

  saveQueued(entry: PersistedNarration): Promise<void>;
  updateQueued(narrationId: string, patch: Partial<Pick<PersistedNarration, 'position' | 'resumeChunk'>>): Promise<void>;
  removeQueued(narrationId: string): Promise<void>;
  /** What was waiting or playing when the process stopped, ordered by server and position (a shard passes its servers). */
  pendingQueue(guildIds?: readonly string[]): Promise<PersistedNarration[]>;

  close(): Promise<void>;
}
