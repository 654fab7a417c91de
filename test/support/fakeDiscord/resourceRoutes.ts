/**
 * REST routes for everything that is not an interaction response: gateway discovery, the bot user and
 * application, command registration, channels and their messages, guild lookups, and attachment downloads
 * (the `url` of every attachment the bot uploaded points here). Channel writes check the bot's permissions in the
 * channel like Discord (50001 Missing Access without ViewChannel, 50013 Missing Permissions without SendMessages
 * or AttachFiles), which is what a "fall back to a channel message" path runs into.
 */
import type { RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import type { CommandRegistry } from './commandRegistry.js';
import { discordErrors, formErrorFromZod, invalidFormBody } from './discordHttpError.js';
import type { MessageStore } from './messageStore.js';
import { hasPermission } from './permissions.js';
import type { Route, RouteRequest, RouteResponse } from './restServer.js';
import { commandDefinition, commandList, messagePayload } from './schemas.js';
import type { Upload, UserUploads } from './userUploads.js';
import type { World } from './world.js';

export interface ResourceRouteDeps {
  readonly world: World;
  readonly messages: MessageStore;
  /** Users' files: served with their test-chosen delivery, and counted. */
  readonly uploads: UserUploads;
  readonly commands: CommandRegistry;
  readonly gatewayUrl: () => string;
}

export function resourceRoutes(deps: ResourceRouteDeps): Route[] {
  const { world, messages, commands, uploads } = deps;
  /** A user's file as the CDN serves it: its delivery as the test chose, every byte sent counted. */
  const serveUpload = (upload: Upload): RouteResponse => {
    const onSent = uploads.recordRequest(upload);
    return { status: 200, bytes: upload.bytes, contentType: upload.contentType, ...(upload.delivery ? { delivery: upload.delivery } : {}), onSent };
  };
  const bot = world.bot.id;

  const gatewayBot = (): RESTGetAPIGatewayBotResult => ({
    url: deps.gatewayUrl(),
    shards: 1,
    session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
  });

  const ownApplication = (req: RouteRequest): void => {
    if (req.params[0] !== world.applicationId) throw discordErrors.missingAccess();
  };

  const guildOf = (req: RouteRequest, index: number): string => {
    const id = req.params[index] ?? '';
    if (!world.guilds.has(id)) throw discordErrors.missingAccess();
    return id;
  };

  const visibleChannel = (id: string): string => {
    const channel = world.findChannel(id);
    if (!channel) throw discordErrors.unknownChannel();
    if (!hasPermission(world.permissionsOf(channel.guildId, bot, id), 'ViewChannel')) throw discordErrors.missingAccess();
    return id;
  };

  const parseCommands = (json: unknown) => {
    const parsed = commandList.safeParse(json);
    if (!parsed.success) throw formErrorFromZod(parsed.error);
    return parsed.data;
  };

  const parseCommand = (json: unknown) => {
    const parsed = commandDefinition.safeParse(json);
    if (!parsed.success) throw formErrorFromZod(parsed.error);
    return parsed.data;
  };

  const commandRoutes = (prefix: string, scope: (req: RouteRequest) => string | undefined): Route[] => [
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/commands$`),
      auth: true,
      handle: (req) => ({ status: 200, json: commands.list(scope(req)).map((c) => commands.toApi(c)) }),
    },
    {
      method: 'PUT',
      pattern: new RegExp(`^${prefix}/commands$`),
      auth: true,
      handle: (req) => ({ status: 200, json: commands.overwrite(scope(req), parseCommands(req.body.json)).map((c) => commands.toApi(c)) }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${prefix}/commands$`),
      auth: true,
      handle: (req) => ({ status: 201, json: commands.toApi(commands.upsert(scope(req), parseCommand(req.body.json))) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/commands/(\\d+)$`),
      auth: true,
      handle: (req) => {
        const id = req.params.at(-1);
        const found = commands.list(scope(req)).find((c) => c.id === id);
        if (!found) throw discordErrors.unknownCommand();
        return { status: 200, json: commands.toApi(found) };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^${prefix}/commands/(\\d+)$`),
      auth: true,
      handle: (req) => {
        const id = req.params.at(-1) ?? '';
        if (!commands.list(scope(req)).some((c) => c.id === id)) throw discordErrors.unknownCommand();
        commands.remove(id);
        return { status: 204 };
      },
    },
  ];

  return [
    { method: 'GET', pattern: /^\/gateway\/bot$/, auth: true, handle: () => ({ status: 200, json: gatewayBot() }) },
    { method: 'GET', pattern: /^\/gateway$/, auth: false, handle: () => ({ status: 200, json: { url: deps.gatewayUrl() } }) },
    { method: 'GET', pattern: /^\/users\/@me$/, auth: true, handle: () => ({ status: 200, json: world.apiUser(bot) }) },
    {
      // Opening a DM (discord.js `user.send` / `createDM`): the same channel for the same user every time.
      method: 'POST',
      pattern: /^\/users\/@me\/channels$/,
      auth: true,
      handle: (req) => {
        const recipient = (req.body.json as { recipient_id?: unknown } | undefined)?.recipient_id;
        if (typeof recipient !== 'string' || !world.users.has(recipient)) throw invalidFormBody(['recipient_id'], 'NUMBER_TYPE_COERCE', 'Value is not snowflake.');
        const id = world.openDm(recipient);
        return { status: 200, json: { id, type: 1, last_message_id: null, flags: 0, recipients: [world.apiUser(recipient)] } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/users\/(\d+)$/,
      auth: true,
      handle: (req) => {
        const id = req.params[0] ?? '';
        if (!world.users.has(id)) throw discordErrors.unknownUser();
        return { status: 200, json: world.apiUser(id) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/applications\/@me$/,
      auth: true,
      handle: () => ({
        status: 200,
        json: {
          id: world.applicationId,
          name: world.bot.username,
          icon: null,
          description: '',
          bot_public: false,
          bot_require_code_grant: false,
          verify_key: '0'.repeat(64),
          flags: 0,
          bot: world.apiUser(bot),
        },
      }),
    },
    ...commandRoutes('/applications/(\\d+)', (req) => {
      ownApplication(req);
      return undefined;
    }),
    ...commandRoutes('/applications/(\\d+)/guilds/(\\d+)', (req) => {
      ownApplication(req);
      return guildOf(req, 1);
    }),
    { method: 'GET', pattern: /^\/channels\/(\d+)$/, auth: true, handle: (req) => ({ status: 200, json: world.apiChannel(visibleChannel(req.params[0] ?? '')) }) },
    {
      method: 'GET',
      pattern: /^\/channels\/(\d+)\/messages$/,
      auth: true,
      handle: (req) => {
        const channelId = visibleChannel(req.params[0] ?? '');
        const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? 50)));
        const newestFirst = messages.inChannel(channelId).reverse().slice(0, limit);
        return { status: 200, json: newestFirst.map((m) => messages.toApi(m)) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/channels\/(\d+)\/messages$/,
      auth: true,
      handle: (req) => {
        const dm = world.dmChannels.get(req.params[0] ?? '');
        if (dm !== undefined) {
          // A DM: no permissions to check (the fake does not model users who block DMs).
          const parsed = messagePayload.safeParse(req.body.json ?? {});
          if (!parsed.success) throw formErrorFromZod(parsed.error);
          return { status: 200, json: messages.toApi(messages.create(req.params[0] ?? '', bot, parsed.data, req.body.files)) };
        }
        const channelId = visibleChannel(req.params[0] ?? '');
        const channel = world.channel(channelId);
        const perms = world.permissionsOf(channel.guildId, bot, channelId);
        if (!hasPermission(perms, 'SendMessages')) throw discordErrors.missingPermissions();
        if (req.body.files.length > 0 && !hasPermission(perms, 'AttachFiles')) throw discordErrors.missingPermissions();
        const parsed = messagePayload.safeParse(req.body.json ?? {});
        if (!parsed.success) throw formErrorFromZod(parsed.error);
        const message = messages.create(channelId, bot, parsed.data, req.body.files);
        return { status: 200, json: messages.toApi(message) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/,
      auth: true,
      handle: (req) => {
        visibleChannel(req.params[0] ?? '');
        const message = messages.get(req.params[1] ?? '');
        if (message.channelId !== req.params[0]) throw discordErrors.unknownMessage();
        return { status: 200, json: messages.toApi(message) };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/,
      auth: true,
      handle: (req) => {
        visibleChannel(req.params[0] ?? '');
        const existing = messages.get(req.params[1] ?? '');
        if (existing.channelId !== req.params[0]) throw discordErrors.unknownMessage();
        if (existing.authorId !== bot) throw discordErrors.cannotEditOthersMessage();
        const parsed = messagePayload.safeParse(req.body.json ?? {});
        if (!parsed.success) throw formErrorFromZod(parsed.error);
        return { status: 200, json: messages.toApi(messages.edit(existing.id, parsed.data, req.body.files)) };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/,
      auth: true,
      handle: (req) => {
        const channelId = visibleChannel(req.params[0] ?? '');
        const existing = messages.get(req.params[1] ?? '');
        if (existing.channelId !== channelId) throw discordErrors.unknownMessage();
        const channel = world.channel(channelId);
        if (existing.authorId !== bot && !hasPermission(world.permissionsOf(channel.guildId, bot, channelId), 'ManageMessages')) {
          throw discordErrors.missingPermissions();
        }
        messages.delete(existing.id);
        return { status: 204 };
      },
    },
    { method: 'GET', pattern: /^\/guilds\/(\d+)$/, auth: true, handle: (req) => ({ status: 200, json: world.apiGuild(guildOf(req, 0)) }) },
    {
      method: 'GET',
      pattern: /^\/guilds\/(\d+)\/channels$/,
      auth: true,
      handle: (req) => ({ status: 200, json: [...world.guild(guildOf(req, 0)).channels.keys()].map((id) => world.apiChannel(id)) }),
    },
    {
      method: 'GET',
      pattern: /^\/guilds\/(\d+)\/roles$/,
      auth: true,
      handle: (req) => ({ status: 200, json: [...world.guild(guildOf(req, 0)).roles.values()].map((r) => world.apiRole(r)) }),
    },
    {
      method: 'GET',
      pattern: /^\/guilds\/(\d+)\/members\/(\d+)$/,
      auth: true,
      handle: (req) => {
        const guildId = guildOf(req, 0);
        const userId = req.params[1] ?? '';
        if (!world.guild(guildId).members.has(userId)) throw discordErrors.unknownMember();
        return { status: 200, json: world.apiMember(guildId, userId) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/guilds\/(\d+)\/voice-states\/(@me|\d+)$/,
      auth: true,
      handle: (req) => {
        const guildId = guildOf(req, 0);
        const userId = req.params[1] === '@me' ? bot : (req.params[1] ?? '');
        if (!world.guild(guildId).voiceStates.has(userId)) throw discordErrors.unknownVoiceState();
        return { status: 200, json: world.apiVoiceState(guildId, userId, { withMember: true }) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/,
      auth: false,
      raw: true,
      handle: (req) => {
        const upload = uploads.get(req.params[1] ?? '');
        if (upload && upload.channelId === req.params[0]) return serveUpload(upload);
        const attachment = messages.attachment(req.params[0] ?? '', req.params[1] ?? '');
        if (!attachment) throw discordErrors.notFound();
        return { status: 200, bytes: attachment.bytes, contentType: attachment.contentType };
      },
    },
    {
      // A file given to a command's attachment option (Discord: cdn.discordapp.com/ephemeral-attachments/…).
      method: 'GET',
      pattern: /^\/ephemeral-attachments\/(\d+)\/(\d+)\/([^/]+)$/,
      auth: false,
      raw: true,
      handle: (req) => {
        const upload = uploads.get(req.params[1] ?? '');
        if (!upload || upload.channelId !== undefined || req.params[0] !== world.applicationId) throw discordErrors.notFound();
        return serveUpload(upload);
      },
    },
  ];
}
