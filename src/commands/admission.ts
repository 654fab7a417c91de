/**
 * Whether a narration may run, decided before anything is queued (issue 10), so a refused narration never costs a
 * GPU second: voice and speed (the option → the member's preference → the server's default → the config's), the
 * server's narrator role, the plan (server dictionary, per-narration limit), the characters the cache does not
 * hold (only those count against the daily limits), then `storage.reserve`, which checks the budgets and the
 * cooldown atomically. A storage that does not answer is a refusal: the bot never narrates without its limits.
 * Used by /narrate and the Narrate message command (narrationFlow.ts); the refusal texts name the limit, the numbers and when it resets.
 */
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { isNarratorError } from '../services/errors.js';
import type { NarrationPlan } from '../services/orchestrator.js';
import type { DictionaryEntry, GuildSettings, ReserveResult, Storage } from '../services/storage/types.js';
import { TextTooLongError } from '../services/text/index.js';
import { errorText, formatResetsIn, texts, type ErrorContext, type Lang } from '../messages.js';
import type { CommandContext } from './types.js';

/** Discord's longest string option; the engine is told the same limit. */
export const MAX_TEXT_CHARS = 6000;

export type Admission =
  | { readonly ok: false; readonly refusal: string }
  | {
      readonly ok: true;
      readonly plan: NarrationPlan;
      /** Undefined without a storage (tests and tools that run commands without a database). */
      readonly settings?: GuildSettings;
      readonly dictionary: readonly DictionaryEntry[];
      /** The reserved ledger row (storage.reserve's narrationId). */
      readonly reservation?: string;
    };

export interface AdmissionRequest {
  readonly guildId: string;
  readonly userId: string;
  readonly memberRoles: (roleId: string) => boolean;
  readonly text: string;
  /** The per-narration limit when the server set none (a file's is higher than a typed text's). Default MAX_TEXT_CHARS. */
  readonly defaultMaxChars?: number;
  /** As given in the command's options (undefined: not given). */
  readonly voice?: string;
  readonly speed?: number;
  readonly resolveMention: (kind: 'user' | 'role' | 'channel', id: string) => string | undefined;
  readonly lang: Lang;
  readonly errorContext: ErrorContext;
}

/**
 * Everything that decides whether a narration may run, in the order issue 10 gives: voice/speed (option → member
 * preference → server default → config default), the role, the plan (server dictionary and per-narration limit),
 * the characters still to synthesize, then the reservation. Storage failures are refusals.
 */
export async function admit(ctx: CommandContext, req: AdmissionRequest): Promise<Admission> {
  const t = texts(req.lang);
  const storage = ctx.storage;
  const planWith = (settings: GuildSettings | undefined, dictionary: readonly DictionaryEntry[], voice?: string, speed?: number) =>
    ctx.orchestrator.plan({
      text: req.text,
      voice,
      speed,
      maxTextChars: settings?.maxChars ?? req.defaultMaxChars ?? MAX_TEXT_CHARS,
      resolveMention: req.resolveMention,
      ...(dictionary.length ? { dictionary } : {}),
      ...(settings && Object.keys(settings.aliases).length ? { aliases: settings.aliases } : {}),
    });
  if (!storage) {
    // No database wired (unit tests, tools): the config's defaults and no limits.
    try {
      return { ok: true, plan: planWith(undefined, [], req.voice, req.speed), dictionary: [] };
    } catch (err) {
      if (isNarratorError(err, 'user')) return { ok: false, refusal: errorText(req.lang, err, req.errorContext) };
      throw err;
    }
  }
  let settings: GuildSettings;
  let member: Awaited<ReturnType<Storage['getMember']>>;
  let dictionary: DictionaryEntry[];
  try {
    [settings, member, dictionary] = await Promise.all([
      storage.getSettings(req.guildId),
      storage.getMember(req.guildId, req.userId),
      storage.listDictionary(req.guildId),
    ]);
  } catch (err) {
    ctx.logger.warn({ guild: req.guildId, err: String(err) }, 'storage unavailable: narration refused');
    return { ok: false, refusal: t.limitsUnavailable() };
  }
  if (settings.roleId && !req.memberRoles(settings.roleId)) return { ok: false, refusal: t.limitRole({ roleId: settings.roleId }) };

  // A stored preference that no longer fits the config (a voice removed) is skipped, not an error.
  const known = (v: string | undefined) => (v !== undefined && ctx.config.voices.includes(v) ? v : undefined);
  const inRange = (x: number | undefined) => (x !== undefined && x >= SPEED_MIN && x <= SPEED_MAX ? x : undefined);
  const voice = req.voice ?? known(member?.voice) ?? known(settings.voice);
  const speed = req.speed ?? inRange(member?.speed) ?? inRange(settings.speed);
  let plan: NarrationPlan;
  try {
    plan = planWith(settings, dictionary, voice, speed);
  } catch (err) {
    if (err instanceof TextTooLongError && settings.maxChars !== undefined && err.max === settings.maxChars) {
      return { ok: false, refusal: t.limitMaxChars({ limit: err.max, asked: err.chars }) };
    }
    if (isNarratorError(err, 'user')) return { ok: false, refusal: errorText(req.lang, err, req.errorContext) };
    throw err;
  }
  const spokenChars = plan.spokenChars;
  // Only what the cache does not hold counts against the daily limits; unknown → all of it (never under-count).
  const toSynthesize = await ctx.orchestrator.charsToSynthesize(plan).catch((err: unknown) => {
    ctx.logger.warn({ err: String(err) }, 'could not check the cache; counting every character');
    return spokenChars;
  });
  const now = Date.now();
  let reserved: ReserveResult;
  try {
    reserved = await storage.reserve({
      guildId: req.guildId,
      userId: req.userId,
      charsAsked: spokenChars,
      charsToSynthesize: toSynthesize,
      chunks: plan.chunks.length,
      now,
    });
  } catch (err) {
    ctx.logger.warn({ guild: req.guildId, err: String(err) }, 'storage unavailable: narration refused');
    return { ok: false, refusal: t.limitsUnavailable() };
  }
  if (!reserved.ok) {
    ctx.logger.info({ guild: req.guildId, limit: reserved.limit, value: reserved.limitValue, used: reserved.used, asked: reserved.asked }, 'narration refused by a limit');
    return { ok: false, refusal: limitRefusal(req.lang, reserved, now) };
  }
  return { ok: true, plan, settings, dictionary, reservation: reserved.narrationId };
}

/** "Server limit: 300 characters a day, 282 used; this narration needs 391. Resets in 5 h 12 min." */
export function limitRefusal(lang: Lang, r: Extract<ReserveResult, { ok: false }>, now: number): string {
  const t = texts(lang);
  const resetsIn = formatResetsIn(lang, r.resetsAt - now);
  switch (r.limit) {
    case 'max_chars':
      return t.limitMaxChars({ limit: r.limitValue, asked: r.asked });
    case 'daily_chars':
      return t.limitDailyChars({ limit: r.limitValue, used: r.used, asked: r.asked, resetsIn });
    case 'user_daily_chars':
      return t.limitUserDailyChars({ limit: r.limitValue, used: r.used, asked: r.asked, resetsIn });
    case 'cooldown':
      return t.limitCooldown({ limit: r.limitValue, resetsIn });
  }
}

/** Gives a reservation back whole: the narration never started (refused late, or could not be queued). */
export async function settleUnused(storage: Storage, narrationId: string): Promise<void> {
  await storage.settle({ narrationId, outcome: 'cancelled', charsSynthesized: 0, chunks: 0, cacheHits: 0, gpuSeconds: 0, now: Date.now() });
}
