/**
 * The player buttons on a narration reply (⏮ ⏯ ⏭ ⏹; ids from services/playback/playerControls.ts): finds the
 * narration the button names among the server's current and waiting ones, checks the same rule as the slash
 * commands, and acts on the session.
 *
 * A button that outlived its narration (ended, or the bot restarted) finds nothing and gets a short private "this
 * narration has ended" — it never acts on whatever plays now. A press that worked is acknowledged silently
 * (deferred update): the narration's own reply shows the change (paused by…, stopped by…) within a second.
 * Refusals are private. Everything here is synchronous before the answer, so it is well inside Discord's 3 s.
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { parseControlId } from '../services/playback/playerControls.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import type { CommandContext } from './types.js';

/** Handles one button press; never throws (a failure is logged and answered privately). */
export async function handleButton(interaction: ButtonInteraction, ctx: CommandContext): Promise<void> {
  const t = texts(langOf(interaction.locale));
  const quiet = async (content: string) => {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  };
  try {
    const control = parseControlId(interaction.customId);
    if (!control || !interaction.inCachedGuild()) return await quiet(t.controlEnded());
    if (ctx.shuttingDown?.()) return await quiet(t.shuttingDown());
    const session = ctx.playback.get(interaction.guildId);
    const track = session && !session.hasEnded ? session.find(control.narrationId) : undefined;
    if (!session || !track) return await quiet(t.controlEnded());

    const by = `<@${interaction.user.id}>`;
    const current = session.current === track;
    if (!mayControl(interaction.member, session)) {
      // As with /stop: the requester may always stop their own narration, from anywhere.
      if (control.action === 'stop' && track.request.requesterId === interaction.user.id) {
        session.cancelTrack(track, 'stopped', by);
        await interaction.deferUpdate();
        return;
      }
      return await quiet(t.notInBotChannel());
    }
    switch (control.action) {
      case 'stop':
        // On the narration playing: like /stop (everything, so the channel goes quiet); on a waiting one: just it.
        if (current) session.stop('stopped', by);
        else session.cancelTrack(track, 'stopped', by);
        break;
      case 'skip':
        session.cancelTrack(track, 'skipped', by);
        break;
      case 'pause':
        if (!current) return await quiet(t.controlNotStarted());
        if (session.isPausedByUser) session.resume();
        else session.pause(by);
        break;
      case 'back':
        if (!current) return await quiet(t.controlNotStarted());
        if (session.back() === 'nothing') return await quiet(t.nothingToReplay());
        break;
    }
    ctx.logger.info({ guild: interaction.guildId, track: track.id, action: control.action }, 'player button');
    await interaction.deferUpdate();
  } catch (err) {
    ctx.logger.warn({ customId: interaction.customId, err: String(err) }, 'player button failed');
    if (!interaction.replied && !interaction.deferred) await quiet(t.errUnexpected()).catch(() => undefined);
  }
}
