/**
 * One interaction the fake dispatched (a slash command, an autocomplete request or a component click) and everything the bot did
 * with it over REST: the callback, edits of the original response, follow-ups, and the requests Discord would
 * have refused (too late, twice, expired token). Times are `performance.now()` in the test process, so latency
 * is `record.receivedAt - invocation.createdAt`. Waits resolve from recorded state, so awaiting late is safe.
 */
import { InteractionResponseType } from 'discord-api-types/v10';
import type { APIInteraction, APIMessage } from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import type { ChangeFeed } from './changeFeed.js';
import type { MessageStore } from './messageStore.js';
import type { UploadedFile } from './requestBody.js';
import type { CommandChoice, MessagePayload } from './schemas.js';

export interface RecordedCallback {
  readonly type: InteractionResponseType;
  /** The callback's `data` as the bot sent it (validated). */
  readonly data: unknown;
  readonly files: readonly UploadedFile[];
  readonly receivedAt: number;
}

export interface RecordedWrite {
  /** `@original` or a follow-up message id. */
  readonly target: string;
  readonly method: 'PATCH' | 'POST' | 'DELETE';
  readonly payload: MessagePayload;
  readonly files: readonly UploadedFile[];
  readonly receivedAt: number;
  /** The message as it stood right after this write (undefined for deletes). */
  readonly message: APIMessage | undefined;
}

export interface RecordedRejection {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: number;
  readonly message: string;
  readonly receivedAt: number;
}

export interface InvocationTiming {
  /** Callbacks after this moment get 404 Unknown interaction (Discord's 3 s rule). */
  readonly ackDeadline: number;
  /** Webhook requests after this moment get 401 Invalid Webhook Token (Discord's 15 min rule). */
  readonly tokenExpiresAt: number;
}

export class Invocation {
  readonly callbacks: RecordedCallback[] = [];
  readonly edits: RecordedWrite[] = [];
  readonly followUps: RecordedWrite[] = [];
  readonly deletes: RecordedWrite[] = [];
  readonly rejected: RecordedRejection[] = [];
  originalMessageId: string | undefined;
  readonly followUpMessageIds: string[] = [];
  /** For component clicks: the message the button or menu is on (what types 6 and 7 update). */
  componentMessageId: string | undefined;

  constructor(
    readonly kind: 'command' | 'autocomplete' | 'component',
    readonly payload: APIInteraction,
    readonly commandName: string,
    readonly createdAt: number,
    readonly timing: InvocationTiming,
    private readonly feed: ChangeFeed,
    private readonly messages: MessageStore,
  ) {}

  get id(): string {
    return this.payload.id;
  }

  get token(): string {
    return this.payload.token;
  }

  get acknowledgement(): RecordedCallback | undefined {
    return this.callbacks[0];
  }

  /** The first callback of any type (reply, defer, autocomplete result, modal). */
  acknowledged(timeoutMs = 3_000): Promise<RecordedCallback> {
    return this.feed.waitUntil(() => this.callbacks[0], timeoutMs, `interaction ${this.id} (/${this.commandName}) to be acknowledged`);
  }

  /** Resolves on a deferred reply (type 5); rejects if the bot acknowledged some other way. */
  async deferred(timeoutMs = 3_000): Promise<RecordedCallback> {
    return this.#expectFirst(InteractionResponseType.DeferredChannelMessageWithSource, 'deferred', timeoutMs);
  }

  /** Resolves on an immediate reply (type 4); rejects if the bot acknowledged some other way. */
  async replied(timeoutMs = 3_000): Promise<RecordedCallback> {
    return this.#expectFirst(InteractionResponseType.ChannelMessageWithSource, 'replied', timeoutMs);
  }

  /**
   * A private answer as its user sees it, however the bot's timing went: an immediate ephemeral reply (type 4), or —
   * when its checks outlasted the defer — a deferred reply whose public placeholder was deleted and replaced by an
   * ephemeral follow-up. Which of the two depends on how fast the machine was, not on what the bot decided, so a
   * test of a refusal that comes from slow checks (a download, the database) asserts this instead of `replied()`.
   * Rejects if the answer was public (an ephemeral flag missing, or the placeholder left standing).
   */
  async answeredPrivately(timeoutMs = 10_000): Promise<{ readonly content: string; readonly afterDefer: boolean }> {
    const first = await this.acknowledged(Math.min(timeoutMs, 3_000));
    const ephemeral = (payload: unknown) => (((payload as { flags?: number } | undefined)?.flags ?? 0) & 64) === 64;
    const contentOf = (payload: unknown) => String((payload as { content?: unknown } | undefined)?.content ?? '');
    const notPrivate = (why: string) =>
      new NarratorError('user', 'fake_discord_unexpected_callback', `Fake Discord: interaction ${this.id} (/${this.commandName}) was not answered privately: ${why}.`);
    if (first.type === InteractionResponseType.ChannelMessageWithSource) {
      if (!ephemeral(first.data)) throw notPrivate(`the reply is public: ${contentOf(first.data)}`);
      return { content: contentOf(first.data), afterDefer: false };
    }
    if (first.type !== InteractionResponseType.DeferredChannelMessageWithSource) throw notPrivate(`first callback of type ${first.type}`);
    const followUp = await this.waitForFollowUp(() => true, timeoutMs);
    if (!ephemeral(followUp.payload)) throw notPrivate(`the follow-up is public: ${contentOf(followUp.payload)}`);
    await this.feed.waitUntil(() => (this.original() === undefined ? true : undefined), timeoutMs, `the deferred placeholder of ${this.id} to be deleted`);
    return { content: contentOf(followUp.payload), afterDefer: true };
  }

  /** Component clicks: resolves on a deferred update of the clicked message (type 6). */
  async deferredUpdate(timeoutMs = 3_000): Promise<RecordedCallback> {
    return this.#expectFirst(InteractionResponseType.DeferredMessageUpdate, 'a deferred update', timeoutMs);
  }

  /** Component clicks: resolves on an immediate update of the clicked message (type 7). */
  async updated(timeoutMs = 3_000): Promise<RecordedCallback> {
    return this.#expectFirst(InteractionResponseType.UpdateMessage, 'an update of the clicked message', timeoutMs);
  }

  /** The autocomplete choices (type 8 callback). */
  async choices(timeoutMs = 3_000): Promise<CommandChoice[]> {
    const callback = await this.#expectFirst(InteractionResponseType.ApplicationCommandAutocompleteResult, 'autocomplete result', timeoutMs);
    const data = callback.data as { choices: CommandChoice[] };
    return data.choices;
  }

  waitForEdit(predicate: (edit: RecordedWrite) => boolean = () => true, timeoutMs = 10_000): Promise<RecordedWrite> {
    return this.feed.waitUntil(() => this.edits.find(predicate), timeoutMs, `an edit of interaction ${this.id} (/${this.commandName}) matching the predicate`);
  }

  waitForFollowUp(predicate: (write: RecordedWrite) => boolean = () => true, timeoutMs = 10_000): Promise<RecordedWrite> {
    return this.feed.waitUntil(() => this.followUps.find(predicate), timeoutMs, `a follow-up to interaction ${this.id} (/${this.commandName}) matching the predicate`);
  }

  /** Every file the bot sent for this interaction, in order (reply, edits, follow-ups). */
  files(): UploadedFile[] {
    const writes = [...this.callbacks, ...this.edits, ...this.followUps].sort((a, b) => a.receivedAt - b.receivedAt);
    return writes.flatMap((w) => w.files);
  }

  /** The original response as the channel shows it now (undefined before any reply or after deletion). */
  original(): APIMessage | undefined {
    const message = this.originalMessageId === undefined ? undefined : this.messages.find(this.originalMessageId);
    return message ? this.messages.toApi(message) : undefined;
  }

  /** The follow-up messages as the channel shows them now. */
  followUpMessages(): APIMessage[] {
    return this.followUpMessageIds.flatMap((id) => {
      const message = this.messages.find(id);
      return message ? [this.messages.toApi(message)] : [];
    });
  }

  /** Milliseconds from the dispatch to a recorded event. */
  latencyOf(record: { readonly receivedAt: number }): number {
    return record.receivedAt - this.createdAt;
  }

  async #expectFirst(type: InteractionResponseType, what: string, timeoutMs: number): Promise<RecordedCallback> {
    const first = await this.acknowledged(timeoutMs);
    if (first.type !== type) {
      throw new NarratorError(
        'user',
        'fake_discord_unexpected_callback',
        `Fake Discord: expected interaction ${this.id} (/${this.commandName}) to be ${what} (callback type ${type}), but the bot answered with type ${first.type}.`,
      );
    }
    return first;
  }
}
