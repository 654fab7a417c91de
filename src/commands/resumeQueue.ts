/**
 * After a restart: the narrations the persisted queue still holds (narrationLedger.ts keeps it) are continued in
 * their servers' voice channels, in order, each from the chunk it had reached. Separate from /narrate because it
 * starts from storage, not from an interaction; it builds the same NarrationTrack and reply.
 */
import type { Client, Guild } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import type { NarrationPlan } from '../services/orchestrator.js';
import type { DictionaryEntry, GuildSettings, PersistedNarration, Storage } from '../services/storage/types.js';
import { NarrationTrack } from '../services/playback/narrationTrack.js';
import { bindLedger } from '../services/playback/narrationLedger.js';
import { followTrack, resumedReplyTarget } from '../services/playback/narrationReply.js';
import { countListeners } from '../services/playback/voiceListeners.js';
import { composeMessage, langOf, texts, type ErrorContext } from '../messages.js';
import { MAX_TEXT_CHARS, settleUnused } from './admission.js';
import { DEFAULT_ATTACHMENT_LIMIT } from './common.js';
import type { CommandContext } from './types.js';

/**
 * After a restart: continues the narrations the persisted queue holds for the servers this process serves, in
 * their order, each from the chunk it had reached (the cache makes an already-synthesized part free). Their
 * reservations still hold (the ledger rows settle when they end). An entry whose voice channel is gone or empty,
 * or that no longer plans (a voice removed), is dropped and its reservation given back. Replies are edited
 * "resumed after a restart" while the interaction token is valid; otherwise the channel is told.
 */
export async function resumeQueue(client: Client<true>, ctx: CommandContext): Promise<void> {
  const storage = ctx.storage;
  if (!storage) return;
  let pending: PersistedNarration[];
  try {
    pending = await storage.pendingQueue([...client.guilds.cache.keys()]);
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'could not read the persisted queue; nothing resumed');
    return;
  }
  if (pending.length === 0) return;
  ctx.logger.info({ narrations: pending.length }, 'resuming the queue after a restart');
  const byGuild = new Map<string, PersistedNarration[]>();
  for (const entry of pending) byGuild.set(entry.guildId, [...(byGuild.get(entry.guildId) ?? []), entry]);
  for (const [guildId, entries] of byGuild) {
    const guild = client.guilds.cache.get(guildId);
    if (!guild) continue; // another shard's (pendingQueue was given ours; defensive)
    let settings: GuildSettings;
    let dictionary: DictionaryEntry[];
    try {
      [settings, dictionary] = await Promise.all([storage.getSettings(guildId), storage.listDictionary(guildId)]);
    } catch (err) {
      ctx.logger.warn({ guild: guildId, err: String(err) }, 'storage unavailable: queue of this server not resumed now');
      continue;
    }
    entries.sort((a, b) => a.position - b.position || a.createdAt - b.createdAt);
    // Synchronous from here for the whole server: its narrations queue in their order.
    for (const entry of entries) {
      if (ctx.shuttingDown?.() || ctx.playback.isClosed) return;
      resumeOne(client, guild, entry, settings, dictionary, ctx, storage);
    }
  }
}

function resumeOne(
  client: Client<true>,
  guild: Guild,
  entry: PersistedNarration,
  settings: GuildSettings,
  dictionary: readonly DictionaryEntry[],
  ctx: CommandContext,
  storage: Storage,
): void {
  const lang = langOf(entry.locale);
  const t = texts(lang);
  const log = ctx.logger.child({ guild: guild.id, narration: entry.narrationId });
  const target = resumedReplyTarget({
    client,
    apiBaseUrl: ctx.config.discord.apiBaseUrl,
    applicationId: entry.applicationId,
    interactionToken: entry.interactionToken,
    createdAt: entry.createdAt,
    textChannelId: entry.textChannelId,
    requesterId: entry.userId,
  });
  const drop = (why: string, tell: boolean) => {
    log.info({ why }, 'persisted narration dropped at resume');
    const told = tell && target.tokenValid ? target.edit({ content: composeMessage(t.notResumed(), entry.text) }).catch(() => undefined) : Promise.resolve();
    ctx.background(
      Promise.all([told, settleUnused(storage, entry.narrationId), storage.removeQueued(entry.narrationId)])
        .catch((err: unknown) => log.warn({ err: String(err) }, 'storage: could not drop a persisted narration'))
        .finally(() => target.dispose()),
    );
  };
  const channel = guild.channels.cache.get(entry.voiceChannelId);
  if (!channel?.isVoiceBased()) return drop('voice channel gone', false);
  if (countListeners(guild, channel.id) === 0) return drop('nobody in the voice channel', true);
  const errorContext: ErrorContext = { voices: ctx.config.voices, speedMin: SPEED_MIN, speedMax: SPEED_MAX, maxQueue: ctx.config.discord.maxQueuePerGuild };
  const resolveMention = (kind: 'user' | 'role' | 'channel', id: string): string | undefined => {
    if (kind === 'user') return guild.members.cache.get(id)?.displayName ?? client.users.cache.get(id)?.displayName;
    if (kind === 'role') return guild.roles.cache.get(id)?.name;
    return guild.channels.cache.get(id)?.name;
  };
  // The entry was admitted already, under its own limit: a file's default (MAX_FILE_CHARS) is higher than a typed
  // text's, and the entry does not say which it was, so the higher default applies (the server's own limit still does).
  const maxTextChars = settings.maxChars ?? Math.max(MAX_TEXT_CHARS, ctx.config.maxFileChars);
  // The aliases as they are now: a script re-plans with the server's current names (an alias removed meanwhile
  // makes its tag unknown, and the narration is dropped like one whose voice was removed).
  const aliases = Object.keys(settings.aliases).length ? settings.aliases : undefined;
  let plan: NarrationPlan;
  try {
    plan = ctx.orchestrator.plan({
      text: entry.text,
      voice: entry.voice,
      speed: entry.speed,
      maxTextChars,
      resolveMention,
      ...(dictionary.length ? { dictionary } : {}),
      ...(aliases ? { aliases } : {}),
    });
  } catch (err) {
    return drop(`does not plan any more: ${String(err)}`, true);
  }
  const startChunk = Math.min(Math.max(0, entry.resumeChunk), plan.chunks.length - 1);
  const track = new NarrationTrack(
    {
      text: entry.text,
      voice: plan.voice,
      speed: plan.speed,
      chunksTotal: plan.chunks.length,
      requesterId: entry.userId,
      requesterName: guild.members.cache.get(entry.userId)?.displayName ?? client.users.cache.get(entry.userId)?.displayName ?? entry.userId,
      maxTextChars,
      resolveMention,
      ...(dictionary.length ? { dictionary } : {}),
      ...(aliases ? { aliases } : {}),
      ...(plan.voices.length > 1 ? { voices: plan.voices } : {}),
      ...(startChunk > 0 ? { startChunk } : {}),
      ...(entry.quote !== undefined ? { quote: entry.quote } : {}),
      ...(entry.sourceLink !== undefined ? { sourceLink: entry.sourceLink } : {}),
    },
    ctx.orchestrator,
    ctx.logger,
  );
  let session;
  try {
    session = ctx.playback.join({ guildId: guild.id, channelId: channel.id, adapterCreator: guild.voiceAdapterCreator });
    session.enqueue(track);
  } catch (err) {
    return drop(`could not be queued: ${String(err)}`, true);
  }
  log.info({ track: track.id, startChunk, chunks: plan.chunks.length }, 'narration resumed after a restart');
  ctx.background(bindLedger(track, { storage, narrationId: entry.narrationId, logger: ctx.logger, persist: 'existing' }));
  if (!target.tokenValid) {
    // The reply cannot be edited any more: say it in the channel (the result will be posted there too).
    ctx.background(
      target.post({ content: composeMessage(t.resumedInChannel({ userId: entry.userId }), entry.text) }).catch((err: unknown) => log.info({ err: String(err) }, 'could not post the resume notice')),
    );
  }
  const joined = session;
  ctx.background(
    followTrack(track, target, {
      lang,
      attachmentSizeLimit: DEFAULT_ATTACHMENT_LIMIT,
      voiceChannelId: () => joined.channelId,
      errorContext,
      logger: ctx.logger,
      notice: t.resumedAfterRestart(),
    }).finally(() => target.dispose()),
  );
}
