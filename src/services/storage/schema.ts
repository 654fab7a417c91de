/**
 * The tables as Kysely sees them (snake_case columns, times as epoch ms, UTC days as 'YYYY-MM-DD' text), and the
 * migrations that create them. Migrations are code, written once with Kysely's schema builder so SQLite and Postgres
 * get the same tables; `schema_version` holds one row per applied migration, so a database written by a newer
 * Narrator is recognised and refused instead of being misread.
 */
import type { Kysely } from 'kysely';

export interface GuildSettingsTable {
  guild_id: string;
  voice: string | null;
  speed: number | null;
  max_chars: number | null;
  daily_chars: number;
  user_daily_chars: number;
  cooldown_sec: number;
  role_id: string | null;
  updated_at: number;
}

export interface GuildAliasTable {
  guild_id: string;
  alias: string;
  voice: string;
}

export interface MemberPrefsTable {
  guild_id: string;
  user_id: string;
  voice: string | null;
  speed: number | null;
  updated_at: number;
}

export interface DictionaryTable {
  guild_id: string;
  /** Lower-cased word: the key, so `TP.HCM` and `tp.hcm` are one entry. */
  word_key: string;
  word: string;
  say: string;
  created_at: number;
}

/** 'reserved' while the narration runs; the others once settled. */
export type LedgerOutcome = 'reserved' | 'completed' | 'failed' | 'cancelled';

export interface LedgerTable {
  id: string;
  guild_id: string;
  user_id: string;
  chars_asked: number;
  /** What `reserve` held against the daily limits (characters to synthesize). */
  chars_reserved: number;
  chars_synthesized: number;
  chunks: number;
  gpu_seconds: number;
  cache_hits: number;
  outcome: LedgerOutcome;
  created_at: number;
  settled_at: number | null;
  /** UTC day of created_at, 'YYYY-MM-DD': what the daily limits group by. */
  day: string;
}

export interface QueueTable {
  narration_id: string;
  guild_id: string;
  voice_channel_id: string;
  text_channel_id: string;
  user_id: string;
  text: string;
  voice: string;
  speed: number;
  locale: string;
  /** Added by migration 2 (null in rows saved before it, and for a typed text). */
  quote: string | null;
  source_link: string | null;
  interaction_token: string | null;
  application_id: string | null;
  created_at: number;
  position: number;
  resume_chunk: number;
}

export interface SchemaVersionTable {
  version: number;
  applied_at: number;
}

export interface Database {
  guild_settings: GuildSettingsTable;
  guild_aliases: GuildAliasTable;
  member_prefs: MemberPrefsTable;
  dictionary: DictionaryTable;
  ledger: LedgerTable;
  queue: QueueTable;
  schema_version: SchemaVersionTable;
}

export interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Kysely<Database>): Promise<void>;
}

/** Append only: never edit a migration that shipped; add the next version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'settings, aliases, member prefs, dictionary, ledger, queue',
    async up(db) {
      await db.schema
        .createTable('guild_settings')
        .addColumn('guild_id', 'text', (c) => c.primaryKey())
        .addColumn('voice', 'text')
        .addColumn('speed', 'double precision')
        .addColumn('max_chars', 'integer')
        .addColumn('daily_chars', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('user_daily_chars', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cooldown_sec', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('role_id', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('guild_aliases')
        .addColumn('guild_id', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('voice', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('guild_aliases_pk', ['guild_id', 'alias'])
        .execute();
      await db.schema
        .createTable('member_prefs')
        .addColumn('guild_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('voice', 'text')
        .addColumn('speed', 'double precision')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('member_prefs_pk', ['guild_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('dictionary')
        .addColumn('guild_id', 'text', (c) => c.notNull())
        .addColumn('word_key', 'text', (c) => c.notNull())
        .addColumn('word', 'text', (c) => c.notNull())
        .addColumn('say', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dictionary_pk', ['guild_id', 'word_key'])
        .execute();
      await db.schema
        .createTable('ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('guild_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('chars_asked', 'integer', (c) => c.notNull())
        .addColumn('chars_reserved', 'integer', (c) => c.notNull())
        .addColumn('chars_synthesized', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('gpu_seconds', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('cache_hits', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('settled_at', 'bigint')
        .addColumn('day', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_guild_day').on('ledger').columns(['guild_id', 'day']).execute();
      await db.schema.createIndex('ledger_guild_user_created').on('ledger').columns(['guild_id', 'user_id', 'created_at']).execute();
      await db.schema
        .createTable('queue')
        .addColumn('narration_id', 'text', (c) => c.primaryKey())
        .addColumn('guild_id', 'text', (c) => c.notNull())
        .addColumn('voice_channel_id', 'text', (c) => c.notNull())
        .addColumn('text_channel_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('voice', 'text', (c) => c.notNull())
        .addColumn('speed', 'double precision', (c) => c.notNull())
        .addColumn('locale', 'text', (c) => c.notNull())
        .addColumn('interaction_token', 'text')
        .addColumn('application_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('resume_chunk', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('queue_guild_position').on('queue').columns(['guild_id', 'position']).execute();
    },
  },
  {
    version: 2,
    description: 'queue: the reply\'s quote (a file\'s name) and source link (a message), kept across a restart',
    async up(db) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('queue').addColumn('quote', 'text').execute();
      await db.schema.alterTable('queue').addColumn('source_link', 'text').execute();
    },
  },
];

/** The newest schema this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
