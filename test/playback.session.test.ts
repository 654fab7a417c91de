/**
 * GuildSession and PlaybackManager with a real @discordjs/voice connection and player, over a fake gateway adapter
 * (the connection stays "signalling"; the player is told to play without subscribers, so it consumes audio in real
 * time as it would for a channel). What is checked is what users notice: which narration plays, when synthesis
 * starts, what each requester is told, and that nothing is left behind when a session ends.
 */
import { after, describe, test } from 'node:test';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AudioPlayerStatus,
  createAudioPlayer,
  NoSubscriberBehavior,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  getVoiceConnection,
  type DiscordGatewayAdapterCreator,
  type VoiceConnection,
} from '@discordjs/voice';
import { NarratorError, abortError } from '../src/services/errors.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import { RECORDING_PREFIX } from '../src/services/audio/narrationRecording.js';
import type { NarrationRequest } from '../src/services/orchestrator.js';
import { PlaybackManager } from '../src/services/playback/playbackManager.js';
import { GuildSession } from '../src/services/playback/guildSession.js';
import { encodeTestWav } from './support/fakeVoice.js';
import { pollUntil } from './support/wait.js';

const RATE = 24_000;

/** Every job returns a short tone after `delayMs` unless the text contains FAIL; jobs are recorded. */
class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone';
  readonly started: string[] = [];
  aborted = 0;
  constructor(
    private readonly delayMs = 5,
    private readonly seconds = 0.2,
  ) {}

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    this.started.push(request.text);
    try {
      await sleep(this.delayMs, undefined, { signal: options.signal });
    } catch {
      this.aborted++;
      throw abortError(options.signal);
    }
    if (request.text.includes('FAIL')) throw new NarratorError('permanent', 'worker_error', 'The TTS worker failed.');
    const samples = new Float32Array(Math.round(RATE * this.seconds));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

let guildCounter = 1000;
const adapter: DiscordGatewayAdapterCreator = () => ({ sendPayload: () => true, destroy: () => undefined });

/** Every track the tests made: their recordings are disposed (as the reply would) and checked gone at the end. */
const allTracks: NarrationTrack[] = [];

function setup(
  options: { delayMs?: number; seconds?: number; maxQueue?: number; idleLeaveMs?: number; emptyLeaveMs?: number; readyTimeoutMs?: number; slots?: number } = {},
) {
  const backend = new ToneBackend(options.delayMs, options.seconds);
  const orchestrator = new Orchestrator({
    backend,
    scheduler: new FairScheduler(options.slots ?? 4),
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  const manager = new PlaybackManager({
    idleLeaveMs: options.idleLeaveMs ?? 0,
    emptyLeaveMs: options.emptyLeaveMs,
    maxQueue: options.maxQueue ?? 3,
    reconnectGraceMs: 50,
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    // Plays even though the fake connection never becomes ready, so audio is consumed in real time.
    createPlayer: () => createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Infinity } }),
  });
  const guildId = String(guildCounter++);
  /** What each narration asked the engine for (prefetch options included). */
  const requests: NarrationRequest[] = [];
  const source = { narrate: (r: NarrationRequest) => (requests.push(r), orchestrator.narrate(r)) };
  const track = (text: string, requesterId = '1') => {
    const plan = orchestrator.plan({ text });
    const made = new NarrationTrack(
      { text, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId, requesterName: 'u' },
      source,
    );
    allTracks.push(made);
    return made;
  };
  return { backend, orchestrator, manager, guildId, track, requests };
}

/** A session whose player plays without a subscriber (the fake connection never becomes ready). */
function openSession(manager: PlaybackManager, guildId: string): GuildSession {
  return manager.join({ guildId, channelId: '500', adapterCreator: adapter });
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  await pollUntil(() => check() || undefined, timeoutMs, what, 5);
}

describe('GuildSession', () => {
  after(async () => {
    for (const t of allTracks) {
      const outcome = t.outcome;
      if (outcome && outcome.kind !== 'cancelled') await outcome.audio?.dispose();
    }
    const left = (await readdir(tmpdir())).filter((name) => name.startsWith(RECORDING_PREFIX));
    assert.deepEqual(left, [], 'no recording left in the temp folder');
  });

  test('plays narrations in order; the next synthesizes only once the current one plays and is synthesized', async () => {
    const { backend, manager, guildId, track } = setup({ seconds: 0.3 });
    const session = openSession(manager, guildId);
    const a = track('Alpha one is the first narration of this queue test.');
    const b = track('Bravo two is the second narration of this queue test.');
    const c = track('Charlie three is the third narration of this queue test.');
    assert.equal(session.enqueue(a), 0, 'plays at once');
    assert.equal(session.enqueue(b), 1);
    assert.equal(session.enqueue(c), 2);
    assert.equal(b.snapshot().queuePosition, 1);
    assert.equal(c.snapshot().queuePosition, 2);
    // The scheduler starts jobs one event-loop turn after they become ready (so narrations started together interleave).
    await waitFor('a synthesizing', () => backend.started.length > 0);
    assert.deepEqual(backend.started.map((t) => t.split(' ')[0]), ['Alpha'], 'only the current one is synthesized');

    await waitFor('b prefetched while a plays', () => b.synthesisStarted);
    assert.equal(a.snapshot().phase, 'playing');
    assert.equal(c.synthesisStarted, false, 'nothing further back is synthesized');

    const outcomes = await Promise.all([a.finished, b.finished, c.finished]);
    assert.deepEqual(outcomes.map((o) => o.kind), ['completed', 'completed', 'completed']);
    assert.ok(outcomes.every((o) => o.kind === 'completed' && o.played));
    assert.deepEqual(backend.started.map((t) => t.split(' ')[0]), ['Alpha', 'Bravo', 'Charlie']);
    assert.equal(session.busy, false);
    session.end('left');
  });

  test('the queue refuses more than maxQueue waiting narrations', () => {
    const { manager, guildId, track } = setup({ maxQueue: 1, delayMs: 1000 });
    const session = openSession(manager, guildId);
    session.enqueue(track('The first one plays now and keeps the player busy for a while.'));
    session.enqueue(track('The second one waits in the queue behind the first one here.'));
    assert.equal(session.isQueueFull, true);
    assert.throws(() => session.enqueue(track('The third one does not fit in the queue of this server.')), (err: unknown) => {
      return err instanceof NarratorError && err.kind === 'user' && err.code === 'queue_full';
    });
    assert.equal(session.waiting.length, 1);
    session.end('left');
  });

  test('skip cancels the current narration (worker job included) and plays the next', async () => {
    const { backend, manager, guildId, track } = setup({ delayMs: 200 });
    const session = openSession(manager, guildId);
    const a = track('Alpha is being synthesized slowly when somebody skips it.');
    const b = track('Bravo plays after the skip without waiting for anything else.');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('a started', () => backend.started.length === 1);
    const skipped = session.skip('<@9>');
    assert.equal(skipped, a);
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'skipped', by: '<@9>' });
    await waitFor('the job of the skipped narration is cancelled', () => backend.aborted === 1);
    assert.equal(session.current, b);
    const outcome = await b.finished;
    assert.equal(outcome.kind, 'completed');
    session.end('left');
  });

  test('stop cancels everything and tells each requester; the idle timer then ends the session', async () => {
    const { backend, manager, guildId, track } = setup({ delayMs: 300, idleLeaveMs: 100 });
    const session = openSession(manager, guildId);
    const a = track('Alpha is playing when the stop command arrives here.', '1');
    const b = track('Bravo is waiting when the stop command arrives here.', '2');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('a started', () => backend.started.length === 1);
    assert.equal(session.stop('stopped', '<@3>'), 2);
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'stopped', by: '<@3>' });
    assert.deepEqual(await b.finished, { kind: 'cancelled', reason: 'stopped', by: '<@3>' });
    assert.equal(backend.started.length, 1, 'the waiting one never cost a job');
    assert.equal(session.busy, false);
    assert.equal(manager.get(guildId), session, 'still in the channel after /stop');
    await waitFor('idle leave', () => manager.get(guildId) === undefined);
    assert.equal(session.hasEnded, true);
    assert.equal(getVoiceConnection(guildId), undefined, 'voice connection destroyed');
    assert.equal(manager.size, 0, 'no per-guild state left');
  });

  test('a narration whose first chunk fails is reported and the queue moves on', async () => {
    const { manager, guildId, track } = setup();
    const session = openSession(manager, guildId);
    const bad = track('FAIL this narration fails on its very first chunk already.');
    const good = track('This one plays normally after the failed narration above.');
    session.enqueue(bad);
    session.enqueue(good);
    const failed = await bad.finished;
    assert.equal(failed.kind, 'failed');
    assert.equal(failed.kind === 'failed' && failed.audio, undefined);
    assert.equal((await good.finished).kind, 'completed');
    session.end('left');
  });

  test('an externally destroyed connection ends the session and cancels its narrations', async () => {
    const { manager, guildId, track } = setup({ delayMs: 1000 });
    const session = openSession(manager, guildId);
    const a = track('Alpha is cut off when the voice connection is destroyed.');
    session.enqueue(a);
    session.connection.destroy();
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'connect_failed', by: undefined });
    assert.equal(manager.get(guildId), undefined);
    assert.equal(session.hasEnded, true);
  });

  test('close code 4014 without a reconnect (kicked) ends the session after the grace period', async () => {
    const { manager, guildId, track } = setup({ delayMs: 1000 });
    const session = openSession(manager, guildId);
    const a = track('Alpha is playing when a moderator disconnects the bot.');
    session.enqueue(a);
    setReady(session.connection);
    const adapterState = session.connection.state as { adapter: unknown };
    session.connection.state = {
      status: VoiceConnectionStatus.Disconnected,
      reason: VoiceConnectionDisconnectReason.WebSocketClose,
      closeCode: 4014,
      adapter: adapterState.adapter,
    } as VoiceConnection['state'];
    assert.equal(session.hasEnded, false, 'waits for a possible move first');
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'disconnected', by: undefined });
    assert.equal(manager.size, 0);
  });

  test('a connection that never becomes ready ends the session instead of hanging', async () => {
    const { manager, guildId, track } = setup({ delayMs: 1000, readyTimeoutMs: 100 });
    const session = manager.join({ guildId, channelId: '500', adapterCreator: adapter });
    const a = track('Alpha waits for a voice connection that never comes up.');
    session.enqueue(a);
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'connect_failed', by: undefined });
    assert.equal(manager.size, 0);
  });

  test('the prefetched narration is synthesized at low priority, its deadlines from the current one’s end', async () => {
    const { manager, guildId, track, requests } = setup({ seconds: 0.3 });
    const session = openSession(manager, guildId);
    const a = track('Alpha one is the first narration of this priority test.');
    const b = track('Bravo two is prefetched while the first one is playing.');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('b prefetched', () => b.synthesisStarted);
    assert.equal(requests[0]!.lowPriority, undefined, 'the current narration is not low priority');
    assert.equal(requests[1]!.lowPriority, true);
    assert.ok(requests[1]!.playbackStartAt! > performance.now() - 1_000, 'deadlines counted from the expected end of Alpha');
    await b.finished;
    session.end('left');
  });

  test('the channel empties: playback and new jobs pause at once; a listener returns: it resumes and completes', async () => {
    const { backend, manager, guildId, track } = setup({ delayMs: 40, seconds: 0.3, slots: 1 });
    const session = openSession(manager, guildId);
    const a = track(Array.from({ length: 6 }, (_, i) => `Sentence ${i + 1} of the paused narration goes on for a little while.`).join(' '));
    session.enqueue(a);
    await waitFor('a playing', () => a.snapshot().phase === 'playing');
    session.setListenerCount(0);
    assert.equal(session.player.state.status, AudioPlayerStatus.Paused, 'the player pauses at once');
    assert.equal(a.snapshot().paused, true, 'the reply can say so');
    const startedWhenEmptied = backend.started.length;
    await sleep(400); // several chunks' worth of synthesis time
    assert.ok(backend.started.length <= startedWhenEmptied + 1, 'at most a job already given its slot; no new one after it');
    assert.equal(session.player.state.status, AudioPlayerStatus.Paused);
    session.setListenerCount(2);
    assert.equal(session.player.state.status, AudioPlayerStatus.Playing);
    const outcome = await a.finished;
    assert.equal(outcome.kind, 'completed');
    assert.equal(backend.started.length, 6, 'every chunk once');
    assert.equal(session.hasEnded, false);
    session.end('left');
  });

  test('nobody comes back within emptyLeaveMs: every narration cancelled (jobs too), saying why, and the session ends', async () => {
    const { backend, manager, guildId, track } = setup({ delayMs: 300, emptyLeaveMs: 100 });
    const session = openSession(manager, guildId);
    const a = track('Alpha is being synthesized when the last listener leaves.', '1');
    const b = track('Bravo waits behind it when the last listener leaves.', '2');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('a started', () => backend.started.length === 1);
    session.setListenerCount(0);
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'empty', by: undefined });
    assert.deepEqual(await b.finished, { kind: 'cancelled', reason: 'empty', by: undefined });
    await waitFor('the running job is cancelled', () => backend.aborted === 1);
    assert.equal(session.hasEnded, true);
    assert.equal(manager.get(guildId), undefined);
    assert.equal(getVoiceConnection(guildId), undefined, 'left the channel');
  });

  test('a requester can stop their own narrations, current or queued, and nobody else’s', async () => {
    const { manager, guildId, track } = setup({ delayMs: 300 });
    const session = openSession(manager, guildId);
    const mine = track('Mine is playing when I stop it from outside the channel.', '7');
    const theirs = track('Theirs waits behind mine and must keep its place.', '8');
    const mineToo = track('Mine too waits at the back of the queue for its turn.', '7');
    session.enqueue(mine);
    session.enqueue(theirs);
    session.enqueue(mineToo);
    assert.equal(session.stopRequester('7', '<@7>'), 2);
    assert.deepEqual(await mine.finished, { kind: 'cancelled', reason: 'stopped', by: '<@7>' });
    assert.deepEqual(await mineToo.finished, { kind: 'cancelled', reason: 'stopped', by: '<@7>' });
    assert.equal(session.current, theirs, 'the other requester’s narration plays');
    assert.equal(session.stopRequester('9'), 0);
    assert.equal((await theirs.finished).kind, 'completed');
    session.end('left');
  });

  test('join reuses the session of a guild and forgets it once ended', () => {
    const { manager, guildId } = setup();
    const first = manager.join({ guildId, channelId: '500', adapterCreator: adapter });
    assert.equal(manager.join({ guildId, channelId: '500', adapterCreator: adapter }), first);
    manager.join({ guildId, channelId: '501', adapterCreator: adapter });
    assert.equal(first.channelId, '501', 'moved to the new channel');
    manager.endAll('shutdown');
    assert.equal(manager.size, 0);
    assert.notEqual(manager.join({ guildId, channelId: '500', adapterCreator: adapter }), first);
    manager.endAll('shutdown');
  });
});

/** Marks the connection as having been ready once, so a later drop counts as a disconnect, not a failed connect. */
function setReady(connection: VoiceConnection): void {
  // The session listens for Ready to know the connection worked; a real handshake is the e2e test's job.
  connection.emit(VoiceConnectionStatus.Ready, connection.state, connection.state);
  connection.emit('stateChange', connection.state, { ...connection.state, status: VoiceConnectionStatus.Ready } as VoiceConnection['state']);
}
