/**
 * The one implementation of `Storage`, written once against Kysely so SQLite and Postgres run the same queries.
 * What differs between the engines is given by an `EngineAdapter`: how to open a write transaction that serializes
 * budget checks (SQLite: BEGIN IMMEDIATE takes the file's write lock, so two processes on one file queue up;
 * Postgres: a transaction-scoped advisory lock per server, so two bot processes on one database queue up for the same
 * server and never for different ones), and how to tell that the database went away.
 *
 * Every call goes through `run`, which turns any driver failure into NarratorError('transient','storage_unavailable'):
 * the caller refuses the narration rather than narrating without limits. NarratorErrors raised on purpose (a full
 * dictionary) pass through unchanged.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { NarratorError } from '../errors.js';
import type { Database, LedgerOutcome } from './schema.js';
import type {
  DictionaryEntry,
  GuildSettings,
  GuildSettingsPatch,
  MemberPrefs,
  PersistedNarration,
  ReserveRequest,
  ReserveResult,
  SettleRequest,
  Storage,
  UsageReport,
  UsageRow,
} from './types.js';
import { nextUtcMidnight, utcDay } from './time.js';

/** Same numbers as src/services/text's dictionary limits; storage enforces them too, whoever calls it. */
export const STORAGE_DICTIONARY_MAX_ENTRIES = 200;
export const STORAGE_DICTIONARY_MAX_WORD = 64;
export const STORAGE_DICTIONARY_MAX_SAY = 200;

const DAY_MS = 86_400_000;
const TOP_MEMBERS = 10;

export interface EngineAdapter {
  readonly engine: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in a transaction that holds the write lock for `lockKey` (a server id) until it commits; at most one
   * such transaction per key runs at a time, across processes.
   */
  writeTransaction<T>(db: Kysely<Database>, lockKey: string, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Throws if the database is known to be gone (a removed SQLite file) before even trying. */
  checkAlive(): void;
  close(): Promise<void>;
}

/** For tests only: widens the window a race would need, so a missing lock shows up as a wrong count. */
export interface StorageTestHooks {
  /** Awaited inside `reserve`'s transaction, after every limit was checked and before the row is inserted. */
  readonly betweenCheckAndInsert?: () => Promise<void>;
}

export class SqlStorage implements Storage {
  readonly engine: 'sqlite' | 'postgres';
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly adapter: EngineAdapter,
    private readonly logger?: Logger,
    private readonly hooks: StorageTestHooks = {},
  ) {
    this.engine = adapter.engine;
  }

  // ---- settings -------------------------------------------------------------------------------------------------

  getSettings(guildId: string): Promise<GuildSettings> {
    return this.run('getSettings', () => readSettings(this.db, guildId));
  }

  updateSettings(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettings> {
    return this.run('updateSettings', () =>
      this.adapter.writeTransaction(this.db, guildId, async (trx) => {
        const current = await readSettings(trx, guildId);
        const clear = new Set(patch.clear ?? []);
        const pick = <T>(k: 'voice' | 'speed' | 'maxChars' | 'roleId', given: T | undefined, now: T | undefined): T | null =>
          clear.has(k) ? null : (given ?? now ?? null);
        const row = {
          guild_id: guildId,
          voice: pick('voice', patch.voice, current.voice),
          speed: pick('speed', patch.speed, current.speed),
          max_chars: pick('maxChars', patch.maxChars, current.maxChars),
          daily_chars: nonNegativeInt(patch.dailyChars ?? current.dailyChars, 'dailyChars'),
          user_daily_chars: nonNegativeInt(patch.userDailyChars ?? current.userDailyChars, 'userDailyChars'),
          cooldown_sec: nonNegativeInt(patch.cooldownSec ?? current.cooldownSec, 'cooldownSec'),
          role_id: pick('roleId', patch.roleId, current.roleId),
          updated_at: Date.now(),
        };
        if (row.max_chars !== null) nonNegativeInt(row.max_chars, 'maxChars');
        await trx
          .insertInto('guild_settings')
          .values(row)
          .onConflict((oc) =>
            oc.column('guild_id').doUpdateSet({
              voice: row.voice,
              speed: row.speed,
              max_chars: row.max_chars,
              daily_chars: row.daily_chars,
              user_daily_chars: row.user_daily_chars,
              cooldown_sec: row.cooldown_sec,
              role_id: row.role_id,
              updated_at: row.updated_at,
            }),
          )
          .execute();
        return readSettings(trx, guildId);
      }),
    );
  }

  setAlias(guildId: string, alias: string, voice: string | undefined): Promise<GuildSettings> {
    const key = alias.trim().toLowerCase();
    return this.run('setAlias', () =>
      this.adapter.writeTransaction(this.db, guildId, async (trx) => {
        if (voice === undefined) {
          await trx.deleteFrom('guild_aliases').where('guild_id', '=', guildId).where('alias', '=', key).execute();
        } else {
          await trx
            .insertInto('guild_aliases')
            .values({ guild_id: guildId, alias: key, voice })
            .onConflict((oc) => oc.columns(['guild_id', 'alias']).doUpdateSet({ voice }))
            .execute();
        }
        return readSettings(trx, guildId);
      }),
    );
  }

  resetSettings(guildId: string): Promise<GuildSettings> {
    return this.run('resetSettings', () =>
      this.adapter.writeTransaction(this.db, guildId, async (trx) => {
        await trx.deleteFrom('guild_settings').where('guild_id', '=', guildId).execute();
        await trx.deleteFrom('guild_aliases').where('guild_id', '=', guildId).execute();
        return readSettings(trx, guildId);
      }),
    );
  }

  // ---- member preferences ---------------------------------------------------------------------------------------

  getMember(guildId: string, userId: string): Promise<MemberPrefs | undefined> {
    return this.run('getMember', async () => {
      const row = await this.db
        .selectFrom('member_prefs')
        .select(['voice', 'speed'])
        .where('guild_id', '=', guildId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        ...(row.voice !== null ? { voice: row.voice } : {}),
        ...(row.speed !== null ? { speed: Number(row.speed) } : {}),
      };
    });
  }

  setMember(guildId: string, userId: string, prefs: MemberPrefs): Promise<void> {
    const row = { guild_id: guildId, user_id: userId, voice: prefs.voice ?? null, speed: prefs.speed ?? null, updated_at: Date.now() };
    return this.run('setMember', async () => {
      await this.db
        .insertInto('member_prefs')
        .values(row)
        .onConflict((oc) => oc.columns(['guild_id', 'user_id']).doUpdateSet({ voice: row.voice, speed: row.speed, updated_at: row.updated_at }))
        .execute();
    });
  }

  resetMember(guildId: string, userId: string): Promise<void> {
    return this.run('resetMember', async () => {
      await this.db.deleteFrom('member_prefs').where('guild_id', '=', guildId).where('user_id', '=', userId).execute();
    });
  }

  // ---- dictionary -----------------------------------------------------------------------------------------------

  listDictionary(guildId: string): Promise<DictionaryEntry[]> {
    return this.run('listDictionary', async () => {
      const rows = await this.db
        .selectFrom('dictionary')
        .select(['word', 'say'])
        .where('guild_id', '=', guildId)
        .orderBy('word_key')
        .execute();
      return rows.map((r) => ({ word: r.word, say: r.say }));
    });
  }

  addDictionary(guildId: string, entry: DictionaryEntry): Promise<void> {
    const word = entry.word.trim();
    const say = entry.say.trim();
    if (word === '' || word.length > STORAGE_DICTIONARY_MAX_WORD) {
      return Promise.reject(new NarratorError('user', 'dictionary_entry_invalid', `A dictionary word must be 1–${STORAGE_DICTIONARY_MAX_WORD} characters.`));
    }
    if (say === '' || say.length > STORAGE_DICTIONARY_MAX_SAY) {
      return Promise.reject(new NarratorError('user', 'dictionary_entry_invalid', `A pronunciation must be 1–${STORAGE_DICTIONARY_MAX_SAY} characters.`));
    }
    const key = word.toLowerCase();
    return this.run('addDictionary', () =>
      this.adapter.writeTransaction(this.db, guildId, async (trx) => {
        const existing = await trx
          .selectFrom('dictionary')
          .select('word_key')
          .where('guild_id', '=', guildId)
          .where('word_key', '=', key)
          .executeTakeFirst();
        if (!existing) {
          const { n } = await trx
            .selectFrom('dictionary')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('guild_id', '=', guildId)
            .executeTakeFirstOrThrow();
          if (Number(n) >= STORAGE_DICTIONARY_MAX_ENTRIES) {
            throw new NarratorError(
              'user',
              'dictionary_full',
              `The dictionary is full (${STORAGE_DICTIONARY_MAX_ENTRIES} words). Remove a word before adding another.`,
            );
          }
        }
        await trx
          .insertInto('dictionary')
          .values({ guild_id: guildId, word_key: key, word, say, created_at: Date.now() })
          .onConflict((oc) => oc.columns(['guild_id', 'word_key']).doUpdateSet({ word, say }))
          .execute();
      }),
    );
  }

  removeDictionary(guildId: string, word: string): Promise<boolean> {
    const key = word.trim().toLowerCase();
    return this.run('removeDictionary', async () => {
      const result = await this.db.deleteFrom('dictionary').where('guild_id', '=', guildId).where('word_key', '=', key).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  // ---- budget and ledger ----------------------------------------------------------------------------------------

  reserve(request: ReserveRequest): Promise<ReserveResult> {
    const { guildId, userId, charsAsked, charsToSynthesize, now } = request;
    return this.run('reserve', () =>
      this.adapter.writeTransaction(this.db, guildId, async (trx): Promise<ReserveResult> => {
        const settings = await readSettings(trx, guildId);
        const asked = charsAsked;

        if (settings.maxChars !== undefined && charsAsked > settings.maxChars) {
          return { ok: false, limit: 'max_chars', limitValue: settings.maxChars, used: 0, asked, resetsAt: now };
        }

        if (settings.cooldownSec > 0) {
          const last = await trx
            .selectFrom('ledger')
            .select((eb) => eb.fn.max('created_at').as('last'))
            .where('guild_id', '=', guildId)
            .where('user_id', '=', userId)
            .executeTakeFirst();
          const lastAt = last?.last === null || last?.last === undefined ? undefined : Number(last.last);
          const endsAt = lastAt === undefined ? 0 : lastAt + settings.cooldownSec * 1000;
          if (lastAt !== undefined && now < endsAt) {
            const since = Math.max(0, Math.floor((now - lastAt) / 1000));
            return { ok: false, limit: 'cooldown', limitValue: settings.cooldownSec, used: since, asked, resetsAt: endsAt };
          }
        }

        // Characters served entirely from the cache spend nothing: they pass even past a daily limit.
        if (charsToSynthesize > 0) {
          const day = utcDay(now);
          const resetsAt = nextUtcMidnight(now);
          if (settings.dailyChars > 0) {
            const used = await usedToday(trx, guildId, day);
            if (used + charsToSynthesize > settings.dailyChars) {
              return { ok: false, limit: 'daily_chars', limitValue: settings.dailyChars, used, asked: charsToSynthesize, resetsAt };
            }
          }
          if (settings.userDailyChars > 0) {
            const used = await usedToday(trx, guildId, day, userId);
            if (used + charsToSynthesize > settings.userDailyChars) {
              return { ok: false, limit: 'user_daily_chars', limitValue: settings.userDailyChars, used, asked: charsToSynthesize, resetsAt };
            }
          }
        }

        await this.hooks.betweenCheckAndInsert?.();
        const narrationId = randomUUID();
        await trx
          .insertInto('ledger')
          .values({
            id: narrationId,
            guild_id: guildId,
            user_id: userId,
            chars_asked: charsAsked,
            chars_reserved: charsToSynthesize,
            chars_synthesized: 0,
            chunks: request.chunks,
            gpu_seconds: 0,
            cache_hits: 0,
            outcome: 'reserved',
            created_at: now,
            settled_at: null,
            day: utcDay(now),
          })
          .execute();
        return { ok: true, narrationId };
      }),
    );
  }

  settle(request: SettleRequest): Promise<void> {
    return this.run('settle', async () => {
      // `outcome = 'reserved'` makes a second settle a no-op: the first one's figures stay.
      const outcome: LedgerOutcome = request.outcome;
      const result = await this.db
        .updateTable('ledger')
        .set({
          outcome,
          chars_synthesized: Math.max(0, Math.round(request.charsSynthesized)),
          chunks: Math.max(0, Math.round(request.chunks)),
          cache_hits: Math.max(0, Math.round(request.cacheHits)),
          gpu_seconds: Math.max(0, request.gpuSeconds),
          settled_at: request.now,
        })
        .where('id', '=', request.narrationId)
        .where('outcome', '=', 'reserved')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) {
        this.logger?.debug({ narrationId: request.narrationId }, 'settle: no open reservation (already settled or unknown)');
      }
    });
  }

  usage(guildId: string, now: number): Promise<UsageReport> {
    return this.run('usage', () => usageReport(this.db, now, guildId));
  }

  memberUsage(guildId: string, userId: string, now: number): Promise<UsageReport> {
    return this.run('memberUsage', () => usageReport(this.db, now, guildId, userId));
  }

  usageByGuild(now: number): Promise<(UsageReport & { readonly guildId: string })[]> {
    return this.run('usageByGuild', async () => {
      const rows = await this.db
        .selectFrom('ledger')
        .select('guild_id')
        .distinct()
        .where('day', '>=', utcDay(now - 29 * DAY_MS))
        .orderBy('guild_id')
        .execute();
      const out: (UsageReport & { readonly guildId: string })[] = [];
      for (const { guild_id } of rows) out.push({ guildId: guild_id, ...(await usageReport(this.db, now, guild_id)) });
      return out;
    });
  }

  // ---- queue ----------------------------------------------------------------------------------------------------

  saveQueued(entry: PersistedNarration): Promise<void> {
    const row = {
      narration_id: entry.narrationId,
      guild_id: entry.guildId,
      voice_channel_id: entry.voiceChannelId,
      text_channel_id: entry.textChannelId,
      user_id: entry.userId,
      text: entry.text,
      voice: entry.voice,
      speed: entry.speed,
      locale: entry.locale,
      quote: entry.quote ?? null,
      source_link: entry.sourceLink ?? null,
      interaction_token: entry.interactionToken ?? null,
      application_id: entry.applicationId ?? null,
      created_at: entry.createdAt,
      position: entry.position,
      resume_chunk: entry.resumeChunk,
    };
    return this.run('saveQueued', async () => {
      const { narration_id: _id, ...rest } = row;
      await this.db
        .insertInto('queue')
        .values(row)
        .onConflict((oc) => oc.column('narration_id').doUpdateSet(rest))
        .execute();
    });
  }

  updateQueued(narrationId: string, patch: Partial<Pick<PersistedNarration, 'position' | 'resumeChunk'>>): Promise<void> {
    const set: { position?: number; resume_chunk?: number } = {};
    if (patch.position !== undefined) set.position = patch.position;
    if (patch.resumeChunk !== undefined) set.resume_chunk = patch.resumeChunk;
    if (Object.keys(set).length === 0) return this.run('updateQueued', async () => undefined);
    return this.run('updateQueued', async () => {
      await this.db.updateTable('queue').set(set).where('narration_id', '=', narrationId).execute();
    });
  }

  removeQueued(narrationId: string): Promise<void> {
    return this.run('removeQueued', async () => {
      await this.db.deleteFrom('queue').where('narration_id', '=', narrationId).execute();
    });
  }

  pendingQueue(guildIds?: readonly string[]): Promise<PersistedNarration[]> {
    return this.run('pendingQueue', async () => {
      if (guildIds !== undefined && guildIds.length === 0) return [];
      let q = this.db.selectFrom('queue').selectAll();
      if (guildIds !== undefined) q = q.where('guild_id', 'in', [...guildIds]);
      const rows = await q.orderBy('guild_id').orderBy('position').orderBy('created_at').execute();
      return rows.map(
        (r): PersistedNarration => ({
          narrationId: r.narration_id,
          guildId: r.guild_id,
          voiceChannelId: r.voice_channel_id,
          textChannelId: r.text_channel_id,
          userId: r.user_id,
          text: r.text,
          voice: r.voice,
          speed: Number(r.speed),
          locale: r.locale,
          ...(r.quote !== null ? { quote: r.quote } : {}),
          ...(r.source_link !== null ? { sourceLink: r.source_link } : {}),
          ...(r.interaction_token !== null ? { interactionToken: r.interaction_token } : {}),
          ...(r.application_id !== null ? { applicationId: r.application_id } : {}),
          createdAt: Number(r.created_at),
          position: Number(r.position),
          resumeChunk: Number(r.resume_chunk),
        }),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy().catch(() => undefined);
    await this.adapter.close().catch(() => undefined);
  }

  // ---- plumbing -------------------------------------------------------------------------------------------------

  /** Every call: the database must be there; a driver failure becomes a transient `storage_unavailable`. */
  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new Error('storage is closed');
      this.adapter.checkAlive();
      return await fn();
    } catch (err) {
      if (err instanceof NarratorError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      this.logger?.warn({ op, engine: this.engine, err: detail }, 'storage unavailable');
      throw new NarratorError('transient', 'storage_unavailable', 'Settings and limits are unavailable right now (the database cannot be reached).', detail, {
        cause: err,
      });
    }
  }
}

const DEFAULT_SETTINGS = { dailyChars: 0, userDailyChars: 0, cooldownSec: 0 } as const;

async function readSettings(db: Kysely<Database>, guildId: string): Promise<GuildSettings> {
  const row = await db.selectFrom('guild_settings').selectAll().where('guild_id', '=', guildId).executeTakeFirst();
  const aliasRows = await db.selectFrom('guild_aliases').select(['alias', 'voice']).where('guild_id', '=', guildId).orderBy('alias').execute();
  const aliases: Record<string, string> = {};
  for (const a of aliasRows) aliases[a.alias] = a.voice;
  if (!row) return { guildId, ...DEFAULT_SETTINGS, aliases };
  return {
    guildId,
    ...(row.voice !== null ? { voice: row.voice } : {}),
    ...(row.speed !== null ? { speed: Number(row.speed) } : {}),
    ...(row.max_chars !== null ? { maxChars: Number(row.max_chars) } : {}),
    dailyChars: Number(row.daily_chars),
    userDailyChars: Number(row.user_daily_chars),
    cooldownSec: Number(row.cooldown_sec),
    ...(row.role_id !== null ? { roleId: row.role_id } : {}),
    aliases,
  };
}

/** Characters counted against today's limits: reservations still open, and what settled rows really synthesized. */
async function usedToday(db: Kysely<Database>, guildId: string, day: string, userId?: string): Promise<number> {
  let q = db
    .selectFrom('ledger')
    .select(sql<number>`coalesce(sum(case when outcome = 'reserved' then chars_reserved else chars_synthesized end), 0)`.as('used'))
    .where('guild_id', '=', guildId)
    .where('day', '=', day);
  if (userId !== undefined) q = q.where('user_id', '=', userId);
  const row = await q.executeTakeFirst();
  return Number(row?.used ?? 0);
}

async function usageReport(db: Kysely<Database>, now: number, guildId: string, userId?: string): Promise<UsageReport> {
  const today = utcDay(now);
  const from = utcDay(now - 29 * DAY_MS);
  const figures = () =>
    [
      sql<number>`count(*)`.as('narrations'),
      sql<number>`coalesce(sum(chars_asked), 0)`.as('chars_asked'),
      sql<number>`coalesce(sum(chars_synthesized), 0)`.as('chars_synthesized'),
      sql<number>`coalesce(sum(gpu_seconds), 0)`.as('gpu_seconds'),
      sql<number>`coalesce(sum(cache_hits), 0)`.as('cache_hits'),
    ] as const;
  const base = (fromDay: string) => {
    let q = db.selectFrom('ledger').where('guild_id', '=', guildId).where('day', '>=', fromDay).where('day', '<=', today);
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return q;
  };
  const todayRow = await base(today).select(figures()).executeTakeFirst();
  const monthRow = await base(from).select(figures()).executeTakeFirst();
  const members = await base(from)
    .select(['user_id', ...figures()])
    .groupBy('user_id')
    .orderBy(sql`coalesce(sum(gpu_seconds), 0)`, 'desc')
    .orderBy(sql`coalesce(sum(chars_synthesized), 0)`, 'desc')
    .orderBy('user_id')
    .limit(TOP_MEMBERS)
    .execute();
  return {
    today: toUsageRow(todayRow),
    last30Days: toUsageRow(monthRow),
    topMembers: members.map((m) => ({ userId: m.user_id, ...toUsageRow(m) })),
  };
}

function toUsageRow(r: { narrations: number; chars_asked: number; chars_synthesized: number; gpu_seconds: number; cache_hits: number } | undefined): UsageRow {
  return {
    narrations: Number(r?.narrations ?? 0),
    charsAsked: Number(r?.chars_asked ?? 0),
    charsSynthesized: Number(r?.chars_synthesized ?? 0),
    gpuSeconds: Number(r?.gpu_seconds ?? 0),
    cacheHits: Number(r?.cache_hits ?? 0),
  };
}

function nonNegativeInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0) throw new NarratorError('user', 'bad_setting', `${name} must be a whole number ≥ 0.`);
  return n;
}
