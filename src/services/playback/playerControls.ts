/**
 * The player buttons on a narration reply (⏮ back, ⏯ pause/resume, ⏭ skip, ⏹ stop) and their custom ids.
 *
 * A custom id says everything needed to act on it — `narrator:<action>:<narrationId>` — and nothing is stored per
 * message: the handler (src/commands/buttons.ts) looks the narration up among the server's current and waiting
 * ones. A button that outlived its narration, or a restart of the bot, finds nothing and answers quietly. Both
 * the reply (which draws the buttons) and the handler (which reads them) use this one module, so the format
 * cannot drift.
 */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';

export const CONTROL_ACTIONS = ['back', 'pause', 'skip', 'stop'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

const CONTROL_ID = /^narrator:(back|pause|skip|stop):([A-Za-z0-9-]{1,64})$/;

/** What the buttons show for one narration. */
export interface ControlsView {
  readonly narrationId: string;
  /** Still waiting in the queue: only ⏹ (take it out) makes sense. */
  readonly queued: boolean;
  /** Paused by a user: ⏯ is highlighted (press to resume). */
  readonly paused: boolean;
}

export function controlId(action: ControlAction, narrationId: string): string {
  return `narrator:${action}:${narrationId}`;
}

/** The action and narration of one of our buttons, or undefined for anything else. */
export function parseControlId(customId: string): { readonly action: ControlAction; readonly narrationId: string } | undefined {
  const match = CONTROL_ID.exec(customId);
  if (!match) return undefined;
  return { action: match[1] as ControlAction, narrationId: match[2]! };
}

const EMOJI: Record<ControlAction, string> = { back: '⏮️', pause: '⏯️', skip: '⏭️', stop: '⏹️' };

/** One row of buttons (emoji only: they read the same in every language). */
export function controlRows(view: ControlsView): ActionRowBuilder<ButtonBuilder>[] {
  const actions: readonly ControlAction[] = view.queued ? ['stop'] : CONTROL_ACTIONS;
  const buttons = actions.map((action) =>
    new ButtonBuilder()
      .setCustomId(controlId(action, view.narrationId))
      .setEmoji(EMOJI[action])
      .setStyle(action === 'pause' && view.paused ? ButtonStyle.Primary : action === 'stop' ? ButtonStyle.Danger : ButtonStyle.Secondary),
  );
  return [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)];
}
