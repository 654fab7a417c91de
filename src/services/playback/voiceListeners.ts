/**
 * Who is listening: after every voice state change in a server where the bot has a playback session, counts the
 * members (bots excluded) in the bot's voice channel and tells the session, which pauses when nobody is left and
 * resumes when someone comes back (see GuildSession.setListenerCount).
 *
 * Recounting from discord.js's voice state cache on every event, rather than interpreting each event (join, leave,
 * move, the bot's own move or reconnect), keeps it correct for all of them at once: the count is always "who is in
 * the bot's channel now". A deafened member still counts (keeping it simple: present is listening).
 */
import { Events, type Client, type Guild } from 'discord.js';
import type { PlaybackManager } from './playbackManager.js';

/** Members in `channelId` who are not bots (the bot itself included among those). */
export function countListeners(guild: Guild, channelId: string): number {
  const self = guild.client.user?.id;
  let count = 0;
  for (const state of guild.voiceStates.cache.values()) {
    if (state.channelId !== channelId || state.id === self) continue;
    // A member the cache does not know is counted: better to play for a stranger than to pause on a guess.
    if (state.member?.user.bot) continue;
    count++;
  }
  return count;
}

/** Keeps every session's listener count current. */
export function watchVoiceListeners(client: Client, playback: PlaybackManager): void {
  client.on(Events.VoiceStateUpdate, (_old, state) => {
    const session = playback.get(state.guild.id);
    if (!session || session.hasEnded) return;
    // Where Discord says the bot is (it follows a move at once); before its first state, where it asked to be.
    const channelId = state.guild.members.me?.voice.channelId ?? session.channelId;
    if (!channelId) return; // disconnected: the session's own reconnect logic decides
    session.setListenerCount(countListeners(state.guild, channelId));
  });
}
