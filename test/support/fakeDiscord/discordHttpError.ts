/**
 * The REST errors the fake answers with, in Discord's JSON shape `{ message, code[, errors] }` and with Discord's
 * status codes and JSON error codes, so the bot's @discordjs/rest raises the same `DiscordAPIError` (same
 * `status`, same `code`) it would raise in production. Throwing one inside a route handler answers the request.
 */
export interface DiscordErrorBody {
  readonly message: string;
  readonly code: number;
  readonly errors?: Record<string, unknown>;
}

export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: DiscordErrorBody,
  ) {
    super(`${status} ${body.message} (code ${body.code})`);
  }
}

/** Discord nests form errors by path: `{ data: { choices: { _errors: [{ code, message }] } } }`. */
export function invalidFormBody(path: readonly (string | number)[], code: string, message: string): DiscordHttpError {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return new DiscordHttpError(400, { message: 'Invalid Form Body', code: 50035, errors });
}

/** A zod failure as Discord's 50035 error tree, one `_errors` entry per issue at its path. */
export function formErrorFromZod(error: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly code: string; readonly message: string }[] }): DiscordHttpError {
  const errors: Record<string, unknown> = {};
  for (const issue of error.issues) {
    let node = errors;
    for (const key of issue.path) {
      const k = String(key);
      const next = (node[k] ??= {}) as Record<string, unknown>;
      node = next;
    }
    const list = (node._errors ??= []) as unknown[];
    list.push({ code: issue.code.toUpperCase(), message: issue.message });
  }
  return new DiscordHttpError(400, { message: 'Invalid Form Body', code: 50035, errors });
}

export const discordErrors = {
  unauthorized: () => new DiscordHttpError(401, { message: '401: Unauthorized', code: 0 }),
  notFound: () => new DiscordHttpError(404, { message: '404: Not Found', code: 0 }),
  unknownChannel: () => new DiscordHttpError(404, { message: 'Unknown Channel', code: 10003 }),
  unknownGuild: () => new DiscordHttpError(404, { message: 'Unknown Guild', code: 10004 }),
  unknownMember: () => new DiscordHttpError(404, { message: 'Unknown Member', code: 10007 }),
  unknownMessage: () => new DiscordHttpError(404, { message: 'Unknown Message', code: 10008 }),
  unknownUser: () => new DiscordHttpError(404, { message: 'Unknown User', code: 10013 }),
  unknownWebhook: () => new DiscordHttpError(404, { message: 'Unknown Webhook', code: 10015 }),
  unknownInteraction: () => new DiscordHttpError(404, { message: 'Unknown interaction', code: 10062 }),
  unknownCommand: () => new DiscordHttpError(404, { message: 'Unknown application command', code: 10063 }),
  unknownVoiceState: () => new DiscordHttpError(404, { message: 'Unknown Voice State', code: 10065 }),
  missingAccess: () => new DiscordHttpError(403, { message: 'Missing Access', code: 50001 }),
  missingPermissions: () => new DiscordHttpError(403, { message: 'Missing Permissions', code: 50013 }),
  cannotEditOthersMessage: () =>
    new DiscordHttpError(403, { message: 'Cannot edit a message authored by another user', code: 50005 }),
  /** The bot lacks Send Voice Messages where it posted a message flagged IS_VOICE_MESSAGE. */
  cannotSendVoiceMessages: () => new DiscordHttpError(403, { message: 'Cannot send voice messages in this channel', code: 50173 }),
  emptyMessage: () => new DiscordHttpError(400, { message: 'Cannot send an empty message', code: 50006 }),
  /** What Discord answers once an interaction token is older than 15 minutes. */
  invalidWebhookToken: () => new DiscordHttpError(401, { message: 'Invalid Webhook Token', code: 50027 }),
  alreadyAcknowledged: () =>
    new DiscordHttpError(400, { message: 'Interaction has already been acknowledged.', code: 40060 }),
  entityTooLarge: () => new DiscordHttpError(413, { message: 'Request entity too large', code: 40005 }),
  invalidJson: () => new DiscordHttpError(400, { message: 'The request body contains invalid JSON.', code: 50109 }),
};
