/**
 * The main gateway (v10, JSON, uncompressed) on `ws://127.0.0.1:PORT/gateway`: HELLO, IDENTIFY → READY plus one
 * GUILD_CREATE per guild, heartbeat ACKs, RESUME with replay of missed dispatches, and dispatches filtered by the
 * intents the bot identified with (no GuildVoiceStates intent → no VOICE_STATE_UPDATE, as on Discord), and op 8
 * member requests. Op 4 goes to the owner through a hook, because answering it needs the voice server.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { wsText } from './wsText.js';
import { GatewayCloseCodes, GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import type { ApplicationFlags, GatewayReadyDispatchData } from 'discord-api-types/v10';
import type { z } from 'zod';
import type { ChangeFeed } from './changeFeed.js';
import type { Diagnostics } from './diagnostics.js';
import {
  gatewayFrame,
  heartbeatData,
  identifyData,
  requestGuildMembersData,
  resumeData,
  voiceStateUpdateData,
} from './schemas.js';
import type { World } from './world.js';

export type VoiceStateRequest = z.infer<typeof voiceStateUpdateData>;
export type GuildMembersRequest = z.infer<typeof requestGuildMembersData>;

export interface GatewayHooks {
  /** Op 4 from the bot (join, move or leave a voice channel). */
  onVoiceStateRequest(session: GatewaySession, request: VoiceStateRequest): void;
}

export interface GatewayOptions {
  readonly token: string;
  readonly heartbeatIntervalMs: number;
  /** Privileged intents the application is allowed (Developer Portal toggles); others close the socket with 4014. */
  readonly allowedPrivilegedIntents: number;
}

export interface GatewayClose {
  readonly sessionId: string | undefined;
  readonly code: number;
  readonly reason: string;
  /** Who closed: the bot (`client`) or the fake (`server`). */
  readonly by: 'client' | 'server';
  readonly at: number;
}

export interface ReceivedGatewayOp {
  readonly op: number;
  readonly d: unknown;
  readonly at: number;
}

const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
const ALL_INTENTS = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((acc, bit) => acc | bit, 0);
const HISTORY_LIMIT = 2_000;

/** Which intent an event needs; events not listed (READY, INTERACTION_CREATE, VOICE_SERVER_UPDATE…) always flow. */
const EVENT_INTENT = new Map<string, number>([
  [GatewayDispatchEvents.GuildCreate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.GuildUpdate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.GuildDelete, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.GuildRoleCreate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.GuildRoleUpdate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.GuildRoleDelete, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.ChannelCreate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.ChannelUpdate, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.ChannelDelete, GatewayIntentBits.Guilds],
  [GatewayDispatchEvents.VoiceStateUpdate, GatewayIntentBits.GuildVoiceStates],
  [GatewayDispatchEvents.GuildMemberAdd, GatewayIntentBits.GuildMembers],
  [GatewayDispatchEvents.GuildMemberUpdate, GatewayIntentBits.GuildMembers],
  [GatewayDispatchEvents.GuildMemberRemove, GatewayIntentBits.GuildMembers],
  [GatewayDispatchEvents.MessageCreate, GatewayIntentBits.GuildMessages],
  [GatewayDispatchEvents.MessageUpdate, GatewayIntentBits.GuildMessages],
  [GatewayDispatchEvents.MessageDelete, GatewayIntentBits.GuildMessages],
]);

/** A gateway session: survives socket drops (for RESUME) until the bot closes with 1000/1001 or is invalidated. */
export class GatewaySession {
  seq = 0;
  ws: WebSocket | undefined;
  readonly history: { readonly s: number; readonly frame: string }[] = [];

  constructor(
    readonly id: string,
    readonly intents: number,
    readonly identifiedAt: number,
  ) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }
}

export class GatewayServer {
  readonly sessions = new Map<string, GatewaySession>();
  readonly closes: GatewayClose[] = [];
  readonly received: ReceivedGatewayOp[] = [];
  readonly #wss = new WebSocketServer({ noServer: true });
  /** Sockets the fake closed itself: their close event is not the bot's doing. */
  readonly #serverClosed = new WeakSet<WebSocket>();
  #origin = '';

  constructor(
    private readonly world: World,
    private readonly feed: ChangeFeed,
    private readonly diag: Diagnostics,
    private readonly opts: GatewayOptions,
    private readonly hooks: GatewayHooks,
  ) {}

  /** Serves the gateway on the REST server's port, at `/gateway`. */
  attach(server: Server, origin: string): void {
    this.#origin = origin;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', origin);
      if (url.pathname !== '/gateway') {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, url));
    });
  }

  get url(): string {
    return `${this.#origin.replace(/^http/, 'ws')}/gateway`;
  }

  /** The session the bot is currently connected with (the latest identified one with an open socket). */
  get activeSession(): GatewaySession | undefined {
    return [...this.sessions.values()].reverse().find((s) => s.connected);
  }

  /** Sends a dispatch to every session whose intents allow it (buffered for RESUME while a session is offline). */
  dispatch(event: GatewayDispatchEvents, data: unknown): void {
    for (const session of this.sessions.values()) this.dispatchTo(session, event, data);
  }

  /** Like `dispatch`, for payloads that depend on the session (GUILD_CREATE depends on its intents). */
  dispatchEach(event: GatewayDispatchEvents, build: (session: GatewaySession) => unknown): void {
    for (const session of this.sessions.values()) this.dispatchTo(session, event, build(session));
  }

  dispatchTo(session: GatewaySession, event: GatewayDispatchEvents, data: unknown): void {
    const intent = EVENT_INTENT.get(event);
    if (intent !== undefined && (session.intents & intent) === 0) return;
    session.seq += 1;
    const frame = JSON.stringify({ op: GatewayOpcodes.Dispatch, t: event, s: session.seq, d: data });
    session.history.push({ s: session.seq, frame });
    if (session.history.length > HISTORY_LIMIT) session.history.shift();
    if (session.connected) session.ws?.send(frame);
    this.diag.debug(`gateway → ${event} s=${session.seq}`);
  }

  /** Closes the bot's socket from the server side (e.g. to exercise resume logic). */
  closeActive(code: number, reason = ''): void {
    const session = this.activeSession;
    if (!session?.ws) return;
    this.closes.push({ sessionId: session.id, code, reason, by: 'server', at: performance.now() });
    this.#serverClosed.add(session.ws);
    // Invalid seq / session timeout end the session on Discord; other codes leave it resumable.
    if (code === GatewayCloseCodes.InvalidSeq || code === GatewayCloseCodes.SessionTimedOut) this.sessions.delete(session.id);
    session.ws.close(code, reason);
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  #onConnection(ws: WebSocket, url: URL): void {
    let session: GatewaySession | undefined;
    const closeWith = (code: number, reason: string): void => {
      this.diag.problem(`gateway: closing the bot's socket with ${code}: ${reason}`);
      this.closes.push({ sessionId: session?.id, code, reason, by: 'server', at: performance.now() });
      this.#serverClosed.add(ws);
      ws.close(code, reason);
    };
    if (url.searchParams.get('compress') || (url.searchParams.get('encoding') ?? 'json') !== 'json') {
      // discord.js turns on zlib-stream by itself when the optional `zlib-sync` package is installed.
      closeWith(GatewayCloseCodes.DecodeError, 'the fake gateway speaks uncompressed JSON only (is zlib-sync installed?)');
      return;
    }
    ws.send(JSON.stringify({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.opts.heartbeatIntervalMs }, s: null, t: null }));

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) return closeWith(GatewayCloseCodes.DecodeError, 'binary frame on a JSON gateway');
      let parsedJson: unknown;
      try {
        parsedJson = JSON.parse(wsText(raw)) as unknown;
      } catch {
        return closeWith(GatewayCloseCodes.DecodeError, 'invalid JSON');
      }
      const frame = gatewayFrame.safeParse(parsedJson);
      if (!frame.success) return closeWith(GatewayCloseCodes.DecodeError, `invalid payload: ${frame.error.message}`);
      const { op, d } = frame.data;
      this.received.push({ op, d, at: performance.now() });
      this.feed.notify();

      switch (op) {
        case GatewayOpcodes.Heartbeat: {
          if (!heartbeatData.safeParse(d ?? null).success) return closeWith(GatewayCloseCodes.DecodeError, 'bad heartbeat');
          ws.send(JSON.stringify({ op: GatewayOpcodes.HeartbeatAck }));
          return;
        }
        case GatewayOpcodes.Identify: {
          if (session) return closeWith(GatewayCloseCodes.AlreadyAuthenticated, 'already identified');
          const identify = identifyData.safeParse(d);
          if (!identify.success) return closeWith(GatewayCloseCodes.DecodeError, `bad IDENTIFY: ${identify.error.message}`);
          if (identify.data.token !== this.opts.token) return closeWith(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
          const intents = identify.data.intents;
          if ((intents & ~ALL_INTENTS) !== 0) return closeWith(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
          if ((intents & PRIVILEGED_INTENTS & ~this.opts.allowedPrivilegedIntents) !== 0) {
            return closeWith(GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
          }
          session = new GatewaySession(randomBytes(16).toString('hex'), intents, performance.now());
          session.ws = ws;
          this.sessions.set(session.id, session);
          this.#sendReady(session);
          this.feed.notify();
          return;
        }
        case GatewayOpcodes.Resume: {
          const resume = resumeData.safeParse(d);
          if (!resume.success) return closeWith(GatewayCloseCodes.DecodeError, `bad RESUME: ${resume.error.message}`);
          const known = this.sessions.get(resume.data.session_id);
          if (!known || resume.data.token !== this.opts.token) {
            ws.send(JSON.stringify({ op: GatewayOpcodes.InvalidSession, d: false }));
            return;
          }
          session = known;
          session.ws = ws;
          const after = resume.data.seq ?? 0;
          for (const entry of session.history) if (entry.s > after) ws.send(entry.frame);
          this.dispatchTo(session, GatewayDispatchEvents.Resumed, null);
          this.feed.notify();
          return;
        }
        case GatewayOpcodes.PresenceUpdate:
          return;
        case GatewayOpcodes.VoiceStateUpdate: {
          if (!session) return closeWith(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
          const request = voiceStateUpdateData.safeParse(d);
          if (!request.success) return closeWith(GatewayCloseCodes.DecodeError, `bad voice state update: ${request.error.message}`);
          this.hooks.onVoiceStateRequest(session, request.data);
          return;
        }
        case GatewayOpcodes.RequestGuildMembers: {
          if (!session) return closeWith(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
          const request = requestGuildMembersData.safeParse(d);
          if (!request.success) return closeWith(GatewayCloseCodes.DecodeError, `bad request guild members: ${request.error.message}`);
          this.#sendMembersChunk(session, request.data);
          return;
        }
        default:
          return closeWith(GatewayCloseCodes.UnknownOpcode, `Unknown opcode ${op}.`);
      }
    });

    ws.on('close', (code: number, reason: Buffer) => {
      if (!this.#serverClosed.has(ws)) {
        this.closes.push({ sessionId: session?.id, code, reason: reason.toString('utf8'), by: 'client', at: performance.now() });
        // Discord ends a session when the client closes normally; any other close leaves it resumable.
        if (session && (code === 1000 || code === 1001)) this.sessions.delete(session.id);
      }
      this.feed.notify();
    });
  }

  /** Op 8 answered in one GUILD_MEMBERS_CHUNK: by ids, or by username prefix (`query: ''` = everyone). */
  #sendMembersChunk(session: GatewaySession, request: GuildMembersRequest): void {
    const guild = this.world.guilds.get(request.guild_id);
    if (!guild) return;
    const wanted = request.user_ids === undefined ? undefined : [request.user_ids].flat();
    const query = (request.query ?? '').toLowerCase();
    const ids = [...guild.members.keys()]
      .filter((id) => (wanted ? wanted.includes(id) : this.world.user(id).username.toLowerCase().startsWith(query)))
      .slice(0, request.limit === 0 ? undefined : request.limit);
    this.dispatchTo(session, GatewayDispatchEvents.GuildMembersChunk, {
      guild_id: guild.id,
      members: ids.map((id) => this.world.apiMember(guild.id, id)),
      chunk_index: 0,
      chunk_count: 1,
      not_found: wanted ? wanted.filter((id) => !guild.members.has(id)) : [],
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    });
  }

  #sendReady(session: GatewaySession): void {
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: this.world.apiUser(this.world.bot.id),
      guilds: [...this.world.guilds.keys()].map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.url,
      shard: [0, 1],
      // No application flags set: 0 is not a named ApplicationFlags member, hence the cast.
      application: { id: this.world.applicationId, flags: 0 as ApplicationFlags, flags_new: '0' },
    };
    this.dispatchTo(session, GatewayDispatchEvents.Ready, ready);
    for (const guildId of this.world.guilds.keys()) {
      this.dispatchTo(session, GatewayDispatchEvents.GuildCreate, this.world.guildCreate(guildId, session.intents));
    }
  }
}
