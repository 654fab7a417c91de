/**
 * Every message the bot leaves behind — channel messages, interaction responses and follow-ups — with the bytes of
 * their attachments. Tests assert on this state ("what the channel shows now"), while the Invocation keeps the
 * history of writes. Creation and edits apply Discord's rules (2000 characters, 10 files, per-file size limit,
 * no empty messages, `attachments` keeps or drops existing files, voice messages: one audio file with
 * `duration_secs` and a ≤ 256-byte `waveform`, no text, Send Voice Messages) and fail with Discord's own errors.
 */
import { MessageFlags, MessageType } from 'discord-api-types/v10';
import type { APIAttachment, APIEmbed, APIMessage, APIMessageTopLevelComponent } from 'discord-api-types/v10';
import { discordErrors, invalidFormBody } from './discordHttpError.js';
import type { UploadedFile } from './requestBody.js';
import type { MessagePayload } from './schemas.js';
import { hasPermission } from './permissions.js';
import { DEFAULT_ATTACHMENT_LIMIT, type World } from './world.js';

export const MAX_CONTENT_LENGTH = 2000;
const MAX_FILES = 10;
const MAX_EMBEDS = 10;

export interface StoredAttachment {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
  readonly description?: string;
  readonly url: string;
  /** Voice-message metadata, as the bot sent it. */
  readonly durationSecs?: number;
  readonly waveform?: string;
  /** A user's file: the size Discord reports (a test may make it lie); default the real size. */
  readonly declaredSize?: number;
}

export interface InteractionLink {
  readonly interactionId: string;
  readonly commandName: string;
  readonly userId: string;
}

export interface StoredMessage {
  readonly id: string;
  readonly channelId: string;
  readonly authorId: string;
  readonly createdAt: string;
  editedAt: string | null;
  content: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  flags: number;
  attachments: StoredAttachment[];
  /** Set for interaction responses and follow-ups (they are sent through the application's webhook). */
  readonly webhookId?: string;
  readonly interaction?: InteractionLink;
  /** The `allowed_mentions` the bot asked for on the last write (tests check user text is not pinging anyone). */
  allowedMentions: MessagePayload['allowed_mentions'];
  deleted: boolean;
  /** A user's message: who and which roles its content mentions (Discord parses them from the content). */
  readonly mentions?: { readonly users: readonly string[]; readonly roles: readonly string[] };
}

/** A user's message content: at most 4000 characters (Nitro), as Discord's client allows. */
export const MAX_USER_CONTENT_LENGTH = 4000;

export interface NewMessageOptions {
  readonly webhookId?: string;
  readonly interaction?: InteractionLink;
  /** A deferred response's placeholder may be empty ("Bot is thinking…"). */
  readonly allowEmpty?: boolean;
  readonly extraFlags?: number;
}

export class MessageStore {
  readonly #messages = new Map<string, StoredMessage>();

  constructor(
    private readonly world: World,
    private readonly origin: () => string,
  ) {}

  create(channelId: string, authorId: string, payload: MessagePayload, files: readonly UploadedFile[], opts: NewMessageOptions = {}): StoredMessage {
    this.#validate(channelId, payload, files);
    if (((payload.flags ?? 0) & MessageFlags.IsVoiceMessage) !== 0) this.#validateVoiceMessage(channelId, payload, files);
    const id = this.world.ids.next();
    const message: StoredMessage = {
      id,
      channelId,
      authorId,
      createdAt: new Date().toISOString(),
      editedAt: null,
      content: payload.content ?? '',
      embeds: payload.embeds ?? [],
      components: payload.components ?? [],
      flags: (payload.flags ?? 0) | (opts.extraFlags ?? 0),
      attachments: this.#newAttachments(channelId, payload, files),
      ...(opts.webhookId ? { webhookId: opts.webhookId } : {}),
      ...(opts.interaction ? { interaction: opts.interaction } : {}),
      allowedMentions: payload.allowed_mentions,
      deleted: false,
    };
    if (!opts.allowEmpty && isEmpty(message)) throw discordErrors.emptyMessage();
    this.#messages.set(id, message);
    return message;
  }

  edit(messageId: string, payload: MessagePayload, files: readonly UploadedFile[]): StoredMessage {
    const message = this.get(messageId);
    this.#validate(message.channelId, payload, files);
    if (payload.content !== undefined) message.content = payload.content ?? '';
    if (payload.embeds !== undefined) message.embeds = payload.embeds ?? [];
    if (payload.components !== undefined) message.components = payload.components ?? [];
    if (payload.allowed_mentions !== undefined) message.allowedMentions = payload.allowed_mentions;
    // `attachments` lists what survives; when it is absent, new files are added to the existing ones.
    const kept =
      payload.attachments === undefined || payload.attachments === null
        ? message.attachments
        : message.attachments.filter((a) => payload.attachments?.some((ref) => ref.id === a.id));
    message.attachments = [...kept, ...this.#newAttachments(message.channelId, payload, files)];
    // The first edit of a deferred response replaces the "thinking…" placeholder.
    message.flags &= ~MessageFlags.Loading;
    message.editedAt = new Date().toISOString();
    if (isEmpty(message)) throw discordErrors.emptyMessage();
    return message;
  }

  /**
   * A message a user posts (not through the bot's REST): content and already-uploaded files. Mentions are parsed
   * from the content as Discord does (`<@id>`, `<@!id>`, `<@&role>`), so the message carries them like a real one.
   */
  createFromUser(channelId: string, authorId: string, content: string, files: readonly StoredAttachment[]): StoredMessage {
    const users = [...new Set([...content.matchAll(/<@!?(\d{5,25})>/g)].map((m) => m[1]!))].filter((id) => this.world.users.has(id));
    const roles = [...new Set([...content.matchAll(/<@&(\d{5,25})>/g)].map((m) => m[1]!))];
    const message: StoredMessage = {
      id: this.world.ids.next(),
      channelId,
      authorId,
      createdAt: new Date().toISOString(),
      editedAt: null,
      content,
      embeds: [],
      components: [],
      flags: 0,
      attachments: [...files],
      allowedMentions: undefined,
      deleted: false,
      mentions: { users, roles },
    };
    this.#messages.set(message.id, message);
    return message;
  }

  delete(messageId: string): void {
    this.get(messageId).deleted = true;
  }

  get(messageId: string): StoredMessage {
    const message = this.#messages.get(messageId);
    if (!message || message.deleted) throw discordErrors.unknownMessage();
    return message;
  }

  find(messageId: string): StoredMessage | undefined {
    const message = this.#messages.get(messageId);
    return message && !message.deleted ? message : undefined;
  }

  inChannel(channelId: string): StoredMessage[] {
    return [...this.#messages.values()].filter((m) => m.channelId === channelId && !m.deleted);
  }

  attachment(channelId: string, attachmentId: string): StoredAttachment | undefined {
    for (const message of this.#messages.values()) {
      if (message.channelId !== channelId) continue;
      const found = message.attachments.find((a) => a.id === attachmentId);
      if (found) return found;
    }
    return undefined;
  }

  toApi(message: StoredMessage): APIMessage {
    const attachments: APIAttachment[] = message.attachments.map((a) => ({
      id: a.id,
      filename: a.filename,
      content_type: a.contentType,
      size: a.declaredSize ?? a.bytes.byteLength,
      url: a.url,
      proxy_url: a.url,
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.durationSecs !== undefined ? { duration_secs: a.durationSecs } : {}),
      ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
    }));
    const channel = this.world.findChannel(message.channelId);
    const mentions = (message.mentions?.users ?? []).map((id) => {
      const user = this.world.apiUser(id);
      // In a server, Discord attaches each mentioned user's member (without its user) to the mention.
      if (!channel || !this.world.guild(channel.guildId).members.has(id)) return user;
      const { user: _user, ...member } = this.world.apiMember(channel.guildId, id);
      return { ...user, member };
    });
    return {
      id: message.id,
      channel_id: message.channelId,
      author: this.world.apiUser(message.authorId),
      content: message.content,
      timestamp: message.createdAt,
      edited_timestamp: message.editedAt,
      tts: false,
      mention_everyone: false,
      mentions,
      mention_roles: [...(message.mentions?.roles ?? [])],
      attachments,
      // Embeds and components pass through as the bot sent them (validated as objects, not field by field).
      embeds: message.embeds as APIEmbed[],
      components: message.components as unknown as APIMessageTopLevelComponent[],
      pinned: false,
      type: message.interaction ? MessageType.ChatInputCommand : MessageType.Default,
      flags: message.flags,
      ...(message.webhookId ? { webhook_id: message.webhookId, application_id: message.webhookId } : {}),
      ...(message.interaction
        ? {
            interaction_metadata: {
              id: message.interaction.interactionId,
              type: 2,
              user: this.world.apiUser(message.interaction.userId),
              authorizing_integration_owners: {},
            },
          }
        : {}),
    };
  }

  #validate(channelId: string, payload: MessagePayload, files: readonly UploadedFile[]): void {
    if ((payload.content ?? '').length > MAX_CONTENT_LENGTH) {
      throw invalidFormBody(['content'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT_LENGTH} or fewer in length.`);
    }
    if ((payload.embeds ?? []).length > MAX_EMBEDS) {
      throw invalidFormBody(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_EMBEDS} or fewer in length.`);
    }
    if (files.length > MAX_FILES) {
      throw invalidFormBody(['files'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_FILES} or fewer in length.`);
    }
    // A DM channel has no guild: the default bot upload limit applies.
    const channel = this.world.dmChannels.has(channelId) ? undefined : this.world.channel(channelId);
    const limit = channel ? this.world.guild(channel.guildId).attachmentSizeLimit : DEFAULT_ATTACHMENT_LIMIT;
    if (files.some((f) => f.bytes.byteLength > limit)) throw discordErrors.entityTooLarge();
  }

  /** What Discord checks on a message flagged IS_VOICE_MESSAGE (8192). */
  #validateVoiceMessage(channelId: string, payload: MessagePayload, files: readonly UploadedFile[]): void {
    const channel = this.world.dmChannels.has(channelId) ? undefined : this.world.channel(channelId);
    if (channel && !hasPermission(this.world.permissionsOf(channel.guildId, this.world.bot.id, channelId), 'SendVoiceMessages')) {
      throw discordErrors.cannotSendVoiceMessages();
    }
    if ((payload.content ?? '') !== '') throw invalidFormBody(['content'], 'BASE_TYPE_BAD_LENGTH', 'Voice messages cannot have content.');
    if (files.length !== 1) throw invalidFormBody(['attachments'], 'BASE_TYPE_BAD_LENGTH', 'Voice messages must have exactly one attachment.');
    const ref = payload.attachments?.find((r) => r.id === String(files[0]!.index));
    if (typeof ref?.duration_secs !== 'number') throw invalidFormBody(['attachments', 0, 'duration_secs'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (typeof ref.waveform !== 'string' || Buffer.from(ref.waveform, 'base64').byteLength > 256) {
      throw invalidFormBody(['attachments', 0, 'waveform'], 'BASE_TYPE_BAD_LENGTH', 'Must be at most 256 bytes.');
    }
  }

  #newAttachments(channelId: string, payload: MessagePayload, files: readonly UploadedFile[]): StoredAttachment[] {
    return files.map((file) => {
      const ref = payload.attachments?.find((r) => r.id === String(file.index));
      const id = this.world.ids.next();
      const filename = ref?.filename ?? file.name;
      if (filename === '') throw invalidFormBody(['attachments', file.index, 'filename'], 'BASE_TYPE_REQUIRED', 'This field is required');
      return {
        id,
        filename,
        contentType: file.contentType === '' ? 'application/octet-stream' : file.contentType,
        bytes: file.bytes,
        ...(ref?.description != null ? { description: ref.description } : {}),
        ...(ref?.duration_secs != null ? { durationSecs: ref.duration_secs } : {}),
        ...(ref?.waveform != null ? { waveform: ref.waveform } : {}),
        url: `${this.origin()}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
      };
    });
  }
}

function isEmpty(m: StoredMessage): boolean {
  return m.content === '' && m.embeds.length === 0 && m.components.length === 0 && m.attachments.length === 0;
}

