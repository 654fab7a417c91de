/**
 * The fake voice server: a voice gateway (v8) over TLS on `wss://127.0.0.1:PORT` and one UDP socket for IP
 * discovery and RTP. It authenticates the bot with the token the fake handed out in VOICE_SERVER_UPDATE, offers
 * only `aead_aes256_gcm_rtpsize` with `dave_protocol_version: 0` (no DAVE/MLS), then decrypts and decodes every
 * audio packet into a `VoiceFrame`. A session survives socket drops the way Discord's does: after close codes
 * 4015 or < 4000 the bot may RESUME it; any other close (4006, 4014…) ends it and the bot must rejoin.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { wsText } from './wsText.js';
import { VoiceCloseCodes, VoiceEncryptionMode, VoiceOpcodes } from 'discord-api-types/voice/v8';
import type { VoiceReadyData, VoiceSessionDescriptionData } from 'discord-api-types/voice/v8';
import type { ChangeFeed } from './changeFeed.js';
import type { Diagnostics } from './diagnostics.js';
import type { OpusDecoder, OpusDecoderFactory } from './opusDecoder.js';
import { decryptAes256GcmRtpSize, parseRtpHeader } from './rtp.js';
import { selectProtocolData, speakingData, voiceFrame, voiceHeartbeatData, voiceIdentifyData, voiceResumeData } from './schemas.js';
import type { TlsMaterial } from './tlsCertificate.js';

/** The Opus frame @discordjs/voice sends five times when a stream ends (and when a player has nothing to send). */
const SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
const OFFERED_MODES: VoiceEncryptionMode[] = [VoiceEncryptionMode.AeadAes256GcmRtpSize];
const IP_DISCOVERY_LENGTH = 74;

export interface VoiceFrame {
  readonly guildId: string;
  readonly channelId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly seq: number;
  readonly timestamp: number;
  /** `performance.now()` in the test process when the datagram arrived. */
  readonly receivedAt: number;
  readonly opus: Buffer;
  /** 48 kHz stereo s16 interleaved (1920 samples for a 20 ms frame). */
  readonly pcm: Int16Array;
  /** The `F8 FF FE` silence marker (sent at stream end and when the player has no data). */
  readonly silence: boolean;
  /** False when Discord would not have let anyone hear it (bot not in that channel, no Speak, server-muted). */
  readonly audible: boolean;
}

/** Permission to connect, issued with each VOICE_SERVER_UPDATE. */
export interface VoiceGrant {
  readonly guildId: string;
  readonly channelId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly token: string;
}

export interface VoiceClose {
  readonly code: number;
  readonly by: 'client' | 'server';
  readonly at: number;
}

export class VoiceSession {
  ws: WebSocket | undefined;
  secretKey: Buffer | undefined;
  mode: string | undefined;
  clientAddress: { readonly ip: string; readonly port: number } | undefined;
  /** No longer resumable (closed with a terminal code, or replaced). */
  ended = false;
  readyAt: number | undefined;
  readonly closes: VoiceClose[] = [];
  readonly speaking: { readonly speaking: number; readonly at: number }[] = [];
  readonly decoder: OpusDecoder;
  #seq = 0;

  constructor(
    readonly grant: VoiceGrant,
    readonly ssrc: number,
    readonly maxDaveProtocolVersion: number | undefined,
    decoderFactory: OpusDecoderFactory,
  ) {
    this.decoder = decoderFactory();
  }

  get guildId(): string {
    return this.grant.guildId;
  }

  get channelId(): string {
    return this.grant.channelId;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(op: VoiceOpcodes, d: unknown): void {
    this.#seq += 1;
    if (this.open) this.ws?.send(JSON.stringify({ op, d, seq: this.#seq }));
  }
}

export interface VoiceServerOptions {
  readonly tls: TlsMaterial;
  readonly decoderFactory: OpusDecoderFactory;
  readonly heartbeatIntervalMs: number;
  /** Whether Discord would deliver this session's audio right now (bot still there, may Speak, not muted). */
  readonly isAudible: (session: VoiceSession) => boolean;
  /** Users already in a channel, announced with op 11 once the bot's session is ready. */
  readonly usersInChannel: (channelId: string) => string[];
}

export class VoiceServer {
  readonly sessions: VoiceSession[] = [];
  readonly frames: VoiceFrame[] = [];
  /** Datagrams that were neither IP discovery, keep-alive nor decryptable RTP from a known session. */
  strayPackets = 0;
  decryptFailures = 0;
  readonly #grants: VoiceGrant[] = [];
  readonly #serverClosed = new WeakSet<WebSocket>();
  #nextSsrc = 1000;

  private constructor(
    private readonly https: Server,
    private readonly wss: WebSocketServer,
    private readonly udp: Socket,
    private readonly feed: ChangeFeed,
    private readonly diag: Diagnostics,
    private readonly opts: VoiceServerOptions,
  ) {
    wss.on('connection', (ws) => this.#onConnection(ws));
    udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
  }

  static async start(feed: ChangeFeed, diag: Diagnostics, opts: VoiceServerOptions): Promise<VoiceServer> {
    const https = createServer({ cert: opts.tls.cert, key: opts.tls.key });
    const wss = new WebSocketServer({ server: https });
    await new Promise<void>((resolve, reject) => {
      https.once('error', reject);
      https.listen(0, '127.0.0.1', () => resolve());
    });
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    return new VoiceServer(https, wss, udp, feed, diag, opts);
  }

  /** `host:port` as VOICE_SERVER_UPDATE carries it; @discordjs/voice dials `wss://${endpoint}?v=8`. */
  get endpoint(): string {
    return `127.0.0.1:${(this.https.address() as AddressInfo).port}`;
  }

  get udpPort(): number {
    return this.udp.address().port;
  }

  /** Registers a new token for a guild; older grants for the same guild and user stop working. */
  grant(grant: VoiceGrant): void {
    for (let i = this.#grants.length - 1; i >= 0; i--) {
      const g = this.#grants[i];
      if (g && g.guildId === grant.guildId && g.userId === grant.userId) this.#grants.splice(i, 1);
    }
    this.#grants.push(grant);
  }

  /** The bot left or was removed: its grant is void, and an open voice socket is closed like Discord does (4014). */
  revoke(guildId: string, userId: string): void {
    for (let i = this.#grants.length - 1; i >= 0; i--) {
      const g = this.#grants[i];
      if (g && g.guildId === guildId && g.userId === userId) this.#grants.splice(i, 1);
    }
    for (const session of this.sessions) {
      if (session.guildId === guildId && session.grant.userId === userId && session.open) {
        this.closeSession(session, VoiceCloseCodes.Disconnected);
      }
    }
  }

  /** The most recent session for a guild that has not ended. */
  currentSession(guildId: string): VoiceSession | undefined {
    return [...this.sessions].reverse().find((s) => s.guildId === guildId && !s.ended);
  }

  closeSession(session: VoiceSession, code: number): void {
    // Only these codes let the client RESUME; every other one ends the session (the bot has to rejoin).
    if (!(code === VoiceCloseCodes.VoiceServerCrashed || code < 4000)) session.ended = true;
    const ws = session.ws;
    session.closes.push({ code, by: 'server', at: performance.now() });
    if (ws) {
      this.#serverClosed.add(ws);
      ws.close(code);
    }
    this.feed.notify();
  }

  /** Tells the bot's session in this channel that users joined (op 11) or left (op 13). */
  announce(channelId: string, userId: string, joined: boolean): void {
    for (const session of this.sessions) {
      if (session.channelId !== channelId || session.ended || session.readyAt === undefined) continue;
      if (joined) session.send(VoiceOpcodes.ClientsConnect, { user_ids: [userId] });
      else session.send(VoiceOpcodes.ClientDisconnect, { user_id: userId });
    }
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.https.closeAllConnections();
    await new Promise<void>((resolve) => this.https.close(() => resolve()));
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }

  #onConnection(ws: WebSocket): void {
    let session: VoiceSession | undefined;
    const closeWith = (code: number, reason: string): void => {
      this.diag.problem(`voice: closing the bot's voice socket with ${code}: ${reason}`);
      this.#serverClosed.add(ws);
      if (session) {
        session.closes.push({ code, by: 'server', at: performance.now() });
        session.ended = true;
      }
      ws.close(code, reason);
      this.feed.notify();
    };
    ws.send(JSON.stringify({ op: VoiceOpcodes.Hello, d: { v: 8, heartbeat_interval: this.opts.heartbeatIntervalMs } }));

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) {
        // Binary frames are DAVE/MLS messages; the fake negotiated protocol version 0, so none should come.
        this.diag.problem('voice: received a binary (DAVE) message although dave_protocol_version is 0');
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(wsText(raw)) as unknown;
      } catch {
        return closeWith(VoiceCloseCodes.FailedToDecode, 'invalid JSON');
      }
      const frame = voiceFrame.safeParse(json);
      if (!frame.success) return closeWith(VoiceCloseCodes.FailedToDecode, `invalid payload: ${frame.error.message}`);
      const { op, d } = frame.data;
      this.diag.debug(`voice ← op ${op}`);

      switch (op) {
        case VoiceOpcodes.Identify: {
          if (session) return closeWith(VoiceCloseCodes.AlreadyAuthenticated, 'already identified');
          const identify = voiceIdentifyData.safeParse(d);
          if (!identify.success) return closeWith(VoiceCloseCodes.FailedToDecode, `bad IDENTIFY: ${identify.error.message}`);
          const { server_id, user_id, session_id, token } = identify.data;
          const grant = this.#grants.find(
            (g) => g.guildId === server_id && g.userId === user_id && g.sessionId === session_id && g.token === token,
          );
          if (!grant) return closeWith(VoiceCloseCodes.AuthenticationFailed, 'Authentication failed: unknown token or session');
          session = new VoiceSession(grant, this.#nextSsrc++, identify.data.max_dave_protocol_version, this.opts.decoderFactory);
          session.ws = ws;
          this.sessions.push(session);
          const ready: VoiceReadyData = { ssrc: session.ssrc, ip: '127.0.0.1', port: this.udpPort, modes: OFFERED_MODES };
          session.send(VoiceOpcodes.Ready, ready);
          this.feed.notify();
          return;
        }
        case VoiceOpcodes.SelectProtocol: {
          if (!session) return closeWith(VoiceCloseCodes.NotAuthenticated, 'Not authenticated.');
          const select = selectProtocolData.safeParse(d);
          if (!select.success) return closeWith(VoiceCloseCodes.FailedToDecode, `bad SELECT_PROTOCOL: ${select.error.message}`);
          const mode = OFFERED_MODES.find((m) => m === select.data.data.mode);
          if (!mode) return closeWith(VoiceCloseCodes.UnknownEncryptionMode, `Unknown encryption mode ${select.data.data.mode}`);
          session.mode = mode;
          session.clientAddress = { ip: select.data.data.address, port: select.data.data.port };
          session.secretKey = randomBytes(32);
          const description: VoiceSessionDescriptionData = {
            mode,
            secret_key: [...session.secretKey],
            // 0 keeps @discordjs/voice out of DAVE (end-to-end encryption), which the fake cannot speak.
            dave_protocol_version: 0,
          };
          session.send(VoiceOpcodes.SessionDescription, description);
          session.readyAt = performance.now();
          const others = this.opts.usersInChannel(session.channelId).filter((id) => id !== session?.grant.userId);
          if (others.length > 0) session.send(VoiceOpcodes.ClientsConnect, { user_ids: others });
          this.feed.notify();
          return;
        }
        case VoiceOpcodes.Heartbeat: {
          const beat = voiceHeartbeatData.safeParse(d);
          if (!beat.success) return closeWith(VoiceCloseCodes.FailedToDecode, `bad heartbeat: ${beat.error.message}`);
          // v8 acknowledges with the client's nonce echoed back.
          ws.send(JSON.stringify({ op: VoiceOpcodes.HeartbeatAck, d: { t: beat.data.t } }));
          return;
        }
        case VoiceOpcodes.Speaking: {
          if (!session) return closeWith(VoiceCloseCodes.NotAuthenticated, 'Not authenticated.');
          const speaking = speakingData.safeParse(d);
          if (!speaking.success) return closeWith(VoiceCloseCodes.FailedToDecode, `bad SPEAKING: ${speaking.error.message}`);
          session.speaking.push({ speaking: speaking.data.speaking, at: performance.now() });
          this.feed.notify();
          return;
        }
        case VoiceOpcodes.Resume: {
          const resume = voiceResumeData.safeParse(d);
          if (!resume.success) return closeWith(VoiceCloseCodes.FailedToDecode, `bad RESUME: ${resume.error.message}`);
          const { server_id, session_id, token } = resume.data;
          const known = [...this.sessions]
            .reverse()
            .find((s) => s.guildId === server_id && s.grant.sessionId === session_id && s.grant.token === token);
          if (!known || known.ended) return closeWith(VoiceCloseCodes.SessionNoLongerValid, 'Session no longer valid.');
          session = known;
          session.ws = ws;
          session.send(VoiceOpcodes.Resumed, null);
          this.feed.notify();
          return;
        }
        default:
          // DAVE opcodes (23, 31…) cannot occur with protocol version 0; anything else is unknown to Discord too.
          this.diag.problem(`voice: unexpected opcode ${op}`);
          return;
      }
    });

    ws.on('close', (code: number) => {
      if (session && !this.#serverClosed.has(ws)) {
        session.closes.push({ code, by: 'client', at: performance.now() });
        // A client that closes on purpose (1000 on destroy) is not coming back to resume.
        if (code === 1000 || code === 1001) session.ended = true;
      }
      if (session && session.ws === ws) session.ws = undefined;
      this.feed.notify();
    });
  }

  #onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length === IP_DISCOVERY_LENGTH && msg.readUInt16BE(0) === 1) {
      const ssrc = msg.readUInt32BE(4);
      if (!this.sessions.some((s) => s.ssrc === ssrc && !s.ended)) {
        this.strayPackets += 1;
        return;
      }
      // Reply: type 2, length 70, ssrc, the address as seen from here (NUL-padded from offset 8), port at 72.
      const reply = Buffer.alloc(IP_DISCOVERY_LENGTH);
      reply.writeUInt16BE(2, 0);
      reply.writeUInt16BE(70, 2);
      reply.writeUInt32BE(ssrc, 4);
      reply.write(rinfo.address, 8, 'utf8');
      reply.writeUInt16BE(rinfo.port, 72);
      this.udp.send(reply, rinfo.port, rinfo.address);
      return;
    }
    // @discordjs/voice sends an 8-byte keep-alive counter every 5 s; Discord does not need to answer it.
    if (msg.length === 8) return;
    const header = parseRtpHeader(msg);
    const session = header && this.sessions.find((s) => s.ssrc === header.ssrc && s.secretKey);
    if (!header || !session?.secretKey) {
      this.strayPackets += 1;
      return;
    }
    const receivedAt = performance.now();
    let opus: Buffer;
    try {
      opus = decryptAes256GcmRtpSize(msg, header, session.secretKey);
    } catch {
      this.decryptFailures += 1;
      this.diag.problem(`voice: packet seq ${header.sequence} from ssrc ${header.ssrc} failed to decrypt`);
      this.feed.notify();
      return;
    }
    this.frames.push({
      guildId: session.guildId,
      channelId: session.channelId,
      userId: session.grant.userId,
      ssrc: header.ssrc,
      seq: header.sequence,
      timestamp: header.timestamp,
      receivedAt,
      opus,
      pcm: session.decoder.decode(opus),
      silence: opus.equals(SILENCE_FRAME),
      audible: this.opts.isAudible(session),
    });
    this.feed.notify();
  }
}
