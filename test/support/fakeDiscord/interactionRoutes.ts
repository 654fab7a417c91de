/**
 * REST routes that answer interactions: the callback (`POST /interactions/{id}/{token}/callback`) and the
 * interaction webhook (`/webhooks/{application}/{token}[/messages/{id|@original}]`). They enforce Discord's clock:
 * a callback after 3 s is 404 Unknown interaction (10062), a second one is 400 already acknowledged (40060), and any
 * webhook call after the token's 15 minutes is 401 Invalid Webhook Token (50027) — both windows are configurable so
 * tests can reach them quickly. Everything accepted is recorded on the Invocation; refusals are recorded too.
 */
import { InteractionResponseType, InteractionType, MessageFlags } from 'discord-api-types/v10';
import type { ChangeFeed } from './changeFeed.js';
import { DiscordHttpError, discordErrors, formErrorFromZod, invalidFormBody } from './discordHttpError.js';
import type { Invocation, RecordedWrite } from './invocation.js';
import type { MessageStore, StoredMessage } from './messageStore.js';
import type { Route, RouteRequest, RouteResponse } from './restServer.js';
import { callbackBody, messagePayload } from './schemas.js';
import type { CallbackBody, CommandChoice, MessagePayload } from './schemas.js';
import type { World } from './world.js';

export interface InteractionRouteDeps {
  readonly world: World;
  readonly messages: MessageStore;
  /** Every dispatched interaction, by id. */
  readonly invocations: ReadonlyMap<string, Invocation>;
  readonly feed: ChangeFeed;
}

const MAX_CHOICES = 25;
const ORIGINAL = '@original';

export function interactionRoutes(deps: InteractionRouteDeps): Route[] {
  const { world, messages, invocations } = deps;

  const byToken = (token: string): Invocation | undefined => [...invocations.values()].find((i) => i.token === token);

  /** Runs `fn`, recording a refusal on the invocation before rethrowing it. */
  const guarded = async (inv: Invocation | undefined, req: RouteRequest, fn: () => RouteResponse | Promise<RouteResponse>): Promise<RouteResponse> => {
    try {
      return await fn();
    } catch (err) {
      if (inv && err instanceof DiscordHttpError) {
        inv.rejected.push({ method: req.method, path: req.path, status: err.status, code: err.body.code, message: err.body.message, receivedAt: req.receivedAt });
        deps.feed.notify();
      }
      throw err;
    }
  };

  const webhookInvocation = (req: RouteRequest): Invocation => {
    const [applicationId = '', token = ''] = req.params;
    const inv = byToken(token);
    if (!inv || applicationId !== world.applicationId) throw discordErrors.unknownWebhook();
    return inv;
  };

  const checkToken = (inv: Invocation, req: RouteRequest): void => {
    if (req.receivedAt > inv.timing.tokenExpiresAt) throw discordErrors.invalidWebhookToken();
  };

  const parseMessage = (json: unknown): MessagePayload => {
    const parsed = messagePayload.safeParse(json ?? {});
    if (!parsed.success) throw formErrorFromZod(parsed.error);
    return parsed.data;
  };

  const targetMessage = (inv: Invocation, target: string): StoredMessage => {
    const id = target === ORIGINAL ? inv.originalMessageId : target;
    if (id === undefined || (id !== inv.originalMessageId && !inv.followUpMessageIds.includes(id))) throw discordErrors.unknownMessage();
    return messages.get(id);
  };

  const link = (inv: Invocation) => ({ interactionId: inv.id, commandName: inv.commandName, userId: userOf(inv) });

  const write = (req: RouteRequest, target: string, method: RecordedWrite['method'], payload: MessagePayload, message: StoredMessage | undefined): RecordedWrite => ({
    target,
    method,
    payload,
    files: req.body.files,
    receivedAt: req.receivedAt,
    message: message ? messages.toApi(message) : undefined,
  });

  const callback: Route = {
    method: 'POST',
    pattern: /^\/interactions\/(\d+)\/([^/]+)\/callback$/,
    auth: false,
    handle: (req) => {
      const [id = '', token = ''] = req.params;
      const inv = invocations.get(id);
      return guarded(inv, req, () => {
        if (!inv || inv.token !== token) throw discordErrors.unknownInteraction();
        if (inv.callbacks.length > 0) throw discordErrors.alreadyAcknowledged();
        // Discord forgets an unanswered interaction after 3 s: the user sees "The application did not respond".
        if (req.receivedAt > inv.timing.ackDeadline) throw discordErrors.unknownInteraction();
        const parsed = callbackBody.safeParse(req.body.json);
        if (!parsed.success) throw formErrorFromZod(parsed.error);
        const body = parsed.data;
        checkCallbackType(inv, body);
        let message: StoredMessage | undefined;
        const channelId = channelOf(inv);
        if (body.type === InteractionResponseType.ChannelMessageWithSource) {
          message = messages.create(channelId, world.bot.id, body.data, req.body.files, { webhookId: world.applicationId, interaction: link(inv) });
        } else if (body.type === InteractionResponseType.DeferredChannelMessageWithSource) {
          const ephemeral = (body.data?.flags ?? 0) & MessageFlags.Ephemeral;
          message = messages.create(channelId, world.bot.id, {}, [], {
            webhookId: world.applicationId,
            interaction: link(inv),
            allowEmpty: true,
            extraFlags: MessageFlags.Loading | ephemeral,
          });
        } else if (body.type === InteractionResponseType.ApplicationCommandAutocompleteResult) {
          checkChoices(body.data.choices);
        } else if (body.type === InteractionResponseType.DeferredMessageUpdate) {
          // A component's deferred update makes the clicked message the one "@original" edits.
          message = messages.get(inv.componentMessageId ?? '');
        } else if (body.type === InteractionResponseType.UpdateMessage) {
          const target = messages.get(inv.componentMessageId ?? '');
          message = body.data ? messages.edit(target.id, body.data, req.body.files) : target;
        }
        if (message) inv.originalMessageId = message.id;
        inv.callbacks.push({ type: body.type, data: 'data' in body ? body.data : undefined, files: req.body.files, receivedAt: req.receivedAt });
        deps.feed.notify();
        if (req.query.get('with_response') !== 'true') return { status: 204 };
        return {
          status: 200,
          json: {
            interaction: {
              id: inv.id,
              type: inv.payload.type,
              ...(message
                ? {
                    response_message_id: message.id,
                    response_message_loading: (message.flags & MessageFlags.Loading) !== 0,
                    response_message_ephemeral: (message.flags & MessageFlags.Ephemeral) !== 0,
                  }
                : {}),
            },
            resource: { type: body.type, ...(message ? { message: messages.toApi(message) } : {}) },
          },
        };
      });
    },
  };

  const getMessage: Route = {
    method: 'GET',
    pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/,
    auth: false,
    handle: (req) => {
      const inv = webhookInvocation(req);
      return guarded(inv, req, () => {
        checkToken(inv, req);
        return { status: 200, json: messages.toApi(targetMessage(inv, req.params[2] ?? '')) };
      });
    },
  };

  const editMessage: Route = {
    method: 'PATCH',
    pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/,
    auth: false,
    handle: (req) => {
      const inv = webhookInvocation(req);
      return guarded(inv, req, () => {
        checkToken(inv, req);
        const target = req.params[2] ?? '';
        const payload = parseMessage(req.body.json);
        const message = messages.edit(targetMessage(inv, target).id, payload, req.body.files);
        inv.edits.push(write(req, target, 'PATCH', payload, message));
        deps.feed.notify();
        return { status: 200, json: messages.toApi(message) };
      });
    },
  };

  const deleteMessage: Route = {
    method: 'DELETE',
    pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/,
    auth: false,
    handle: (req) => {
      const inv = webhookInvocation(req);
      return guarded(inv, req, () => {
        checkToken(inv, req);
        const target = req.params[2] ?? '';
        messages.delete(targetMessage(inv, target).id);
        inv.deletes.push(write(req, target, 'DELETE', {}, undefined));
        deps.feed.notify();
        return { status: 204 };
      });
    },
  };

  const followUp: Route = {
    method: 'POST',
    pattern: /^\/webhooks\/(\d+)\/([^/]+)$/,
    auth: false,
    handle: (req) => {
      const inv = webhookInvocation(req);
      return guarded(inv, req, () => {
        checkToken(inv, req);
        if (inv.callbacks.length === 0) throw discordErrors.unknownWebhook();
        const payload = parseMessage(req.body.json);
        const original = inv.originalMessageId === undefined ? undefined : messages.find(inv.originalMessageId);
        let message: StoredMessage;
        if (original && (original.flags & MessageFlags.Loading) !== 0) {
          // After a defer, the first follow-up takes the place of the "thinking…" message (keeping its ephemerality).
          message = messages.edit(original.id, payload, req.body.files);
          message.editedAt = null;
        } else {
          message = messages.create(channelOf(inv), world.bot.id, payload, req.body.files, { webhookId: world.applicationId, interaction: link(inv) });
          inv.followUpMessageIds.push(message.id);
        }
        inv.followUps.push(write(req, message.id, 'POST', payload, message));
        deps.feed.notify();
        return req.query.get('wait') === 'true' ? { status: 200, json: messages.toApi(message) } : { status: 204 };
      });
    },
  };

  return [callback, getMessage, editMessage, deleteMessage, followUp];
}

function userOf(inv: Invocation): string {
  const p = inv.payload;
  return p.member?.user.id ?? p.user?.id ?? '';
}

function channelOf(inv: Invocation): string {
  const p = inv.payload;
  return p.channel?.id ?? p.channel_id ?? '';
}

function checkCallbackType(inv: Invocation, body: CallbackBody): void {
  const reply = [InteractionResponseType.ChannelMessageWithSource, InteractionResponseType.DeferredChannelMessageWithSource, InteractionResponseType.Modal];
  const allowed: readonly InteractionResponseType[] =
    inv.payload.type === InteractionType.ApplicationCommandAutocomplete
      ? [InteractionResponseType.ApplicationCommandAutocompleteResult]
      : inv.payload.type === InteractionType.MessageComponent
        ? [...reply, InteractionResponseType.DeferredMessageUpdate, InteractionResponseType.UpdateMessage]
        : reply;
  if (!allowed.includes(body.type)) {
    throw invalidFormBody(['type'], 'INTERACTION_CALLBACK_TYPE_INVALID', `Callback type ${body.type} is not valid for this interaction type.`);
  }
}

function checkChoices(choices: readonly CommandChoice[]): void {
  if (choices.length > MAX_CHOICES) {
    throw invalidFormBody(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CHOICES} or fewer in length.`);
  }
  choices.forEach((c, i) => {
    if (c.name.length < 1 || c.name.length > 100) {
      throw invalidFormBody(['data', 'choices', i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    if (typeof c.value === 'string' && c.value.length > 100) {
      throw invalidFormBody(['data', 'choices', i, 'value'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
  });
}
