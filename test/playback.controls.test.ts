/**
 * The player controls below Discord: a user's pause and resume on a GuildSession (real @discordjs/voice player,
 * playing without a subscriber so it consumes audio in real time), kept apart from the empty-room pause; the pause
 * limit; and ⏮ back — which segment a replay starts from (PcmStream.replayFrom) and that a track's replay plays
 * from memory, from that segment to the end, without asking the engine again.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AudioPlayerStatus,
  createAudioPlayer,
  NoSubscriberBehavior,
  type AudioResource,
  type DiscordGatewayAdapterCreator,
} from '@discordjs/voice';
import { abortError } from '../src/services/errors.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator, type NarrationSummary, type Segment } from '../src/services/orchestrator.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack, type NarrationSource } from '../src/services/playback/narrationTrack.js';
import { PcmStream, type Replay } from '../src/services/playback/pcmStream.js';
import { PlaybackManager } from '../src/services/playback/playbackManager.js';
import type { GuildSession } from '../src/services/playback/guildSession.js';
import { RECORDING_PREFIX } from '../src/services/audio/narrationRecording.js';
import type { MonoAudio } from '../src/services/audio/types.js';
import { encodeTestWav } from './support/fakeVoice.js';
import { pollUntil } from './support/wait.js';

const RATE = 24_000;

/** Every job returns a short tone after `delayMs`; jobs are recorded. */
class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone';
  readonly started: string[] = [];
  constructor(
    private readonly delayMs: number,
    private readonly seconds: number,
  ) {}

  async synthesize(request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    this.started.push(request.text);
    try {
      await sleep(this.delayMs, undefined, { signal: options.signal });
    } catch {
      throw abortError(options.signal);
    }
    const samples = new Float32Array(Math.round(RATE * this.seconds));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

let guildCounter = 7000;
const adapter: DiscordGatewayAdapterCreator = () => ({ sendPayload: () => true, destroy: () => undefined });
const allTracks: NarrationTrack[] = [];

function setup(options: { delayMs?: number; seconds?: number; idleLeaveMs?: number; pauseLeaveMs?: number; slots?: number } = {}) {
  const backend = new ToneBackend(options.delayMs ?? 5, options.seconds ?? 0.3);
  const orchestrator = new Orchestrator({
    backend,
    scheduler: new FairScheduler(options.slots ?? 2),
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  const manager = new PlaybackManager({
    idleLeaveMs: options.idleLeaveMs ?? 0,
    pauseLeaveMs: options.pauseLeaveMs,
    maxQueue: 3,
    readyTimeoutMs: 60_000,
    createPlayer: () => createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Infinity } }),
  });
  const track = (text: string, requesterId = '1') => {
    const plan = orchestrator.plan({ text });
    const made = new NarrationTrack({ text, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId, requesterName: 'u' }, orchestrator);
    allTracks.push(made);
    return made;
  };
  const session = manager.join({ guildId: String(guildCounter++), channelId: '500', adapterCreator: adapter });
  return { backend, manager, session, track };
}

const sentences = (n: number, what: string) =>
  Array.from({ length: n }, (_, i) => `Sentence ${i + 1} of the ${what} narration goes on for a little while.`).join(' ');

/** Read through a call, so the type checker does not narrow it across the session's state changes. */
const status = (session: GuildSession): AudioPlayerStatus => session.player.state.status;

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  await pollUntil(() => check() || undefined, timeoutMs, what, 5);
}

describe('a user’s pause and resume', () => {
  after(async () => {
    for (const t of allTracks) {
      const outcome = t.outcome;
      if (outcome && outcome.kind !== 'cancelled') await outcome.audio?.dispose();
    }
    const left = (await readdir(tmpdir())).filter((name) => name.startsWith(RECORDING_PREFIX));
    assert.deepEqual(left, [], 'no recording left in the temp folder');
  });

  test('holds playback but not synthesis; resume plays the rest and the narration completes', async () => {
    const { backend, session, track } = setup({ delayMs: 40, slots: 1 });
    const a = track(sentences(6, 'paused'));
    session.enqueue(a);
    await waitFor('a playing', () => a.snapshot().phase === 'playing');
    assert.equal(session.pause('<@1>'), 'paused');
    assert.equal(session.player.state.status, AudioPlayerStatus.Paused, 'the player pauses at once');
    assert.equal(a.snapshot().pausedBy, '<@1>', 'the reply can say who paused it');
    assert.equal(a.snapshot().paused, undefined, 'not the empty-room pause');
    assert.equal(session.pause('<@2>'), 'already_paused');
    await waitFor('every chunk synthesized while paused', () => a.synthesisSettled, 10_000);
    assert.equal(backend.started.length, 6);
    assert.equal(session.player.state.status, AudioPlayerStatus.Paused, 'still paused');
    assert.equal(session.resume(), 'resumed');
    assert.equal(session.resume(), 'not_paused');
    assert.equal(session.player.state.status, AudioPlayerStatus.Playing);
    assert.equal(a.snapshot().pausedBy, undefined);
    const outcome = await a.finished;
    assert.equal(outcome.kind, 'completed');
    assert.equal(outcome.kind === 'completed' && outcome.played, true);
    session.end('left');
  });

  test('a paused narration that has not started playing yet starts paused', async () => {
    const { session, track } = setup({ delayMs: 200 });
    const a = track('One short narration that is paused before its first audio.');
    session.enqueue(a);
    assert.equal(session.pause('<@1>'), 'paused');
    await waitFor('a synthesized', () => a.synthesisSettled);
    await waitFor('the player holds it', () => session.player.state.status === AudioPlayerStatus.Paused);
    assert.equal(session.resume(), 'resumed');
    assert.equal((await a.finished).kind, 'completed');
    session.end('left');
  });

  test('the user’s pause and the empty-room pause are kept apart, in either order', async () => {
    const { session, track } = setup({ seconds: 1 });
    const a = track(sentences(4, 'long'));
    session.enqueue(a);
    await waitFor('a playing', () => session.player.state.status === AudioPlayerStatus.Playing);

    // A user pauses, everyone leaves, someone comes back: still paused (the user's pause is theirs to undo).
    session.pause('<@1>');
    session.setListenerCount(0);
    session.setListenerCount(1);
    assert.equal(status(session), AudioPlayerStatus.Paused, 'a member coming back does not resume a user’s pause');
    session.resume();
    assert.equal(status(session), AudioPlayerStatus.Playing);

    // The room empties, a user pauses and resumes meanwhile: still paused until someone is back.
    session.setListenerCount(0);
    session.pause('<@1>');
    assert.equal(session.resume(), 'resumed');
    assert.equal(status(session), AudioPlayerStatus.Paused, 'a user’s resume does not unpause an empty room');
    assert.equal(a.snapshot().paused, true);
    session.setListenerCount(1);
    assert.equal(status(session), AudioPlayerStatus.Playing);
    assert.equal((await a.finished).kind, 'completed');
    session.end('left');
  });

  test('skip while paused: the next narration plays (the pause belonged to the skipped one)', async () => {
    const { session, track } = setup({ seconds: 1 });
    const a = track(sentences(3, 'first'));
    const b = track('The second narration plays after the paused one is skipped.');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('a playing', () => session.player.state.status === AudioPlayerStatus.Playing);
    session.pause('<@1>');
    session.skip('<@1>');
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'skipped', by: '<@1>' });
    assert.equal(session.isPausedByUser, false);
    assert.equal((await b.finished).kind, 'completed', 'b played through');
    session.end('left');
  });

  test('paused is not idle: the idle timer leaves it alone, the pause limit ends the session and says why', async () => {
    // An idle limit far shorter than the pause limit: if a paused narration counted as idle, it would end as 'idle'.
    const { session, track, manager } = setup({ idleLeaveMs: 1, pauseLeaveMs: 300, seconds: 1 });
    const a = track(sentences(3, 'forgotten'));
    const b = track('A narration waiting behind the forgotten one.');
    session.enqueue(a);
    session.enqueue(b);
    await waitFor('a playing', () => session.player.state.status === AudioPlayerStatus.Playing);
    session.pause('<@1>');
    assert.deepEqual(await a.finished, { kind: 'cancelled', reason: 'paused', by: undefined });
    assert.deepEqual(await b.finished, { kind: 'cancelled', reason: 'paused', by: undefined });
    assert.equal(session.hasEnded, true);
    assert.equal(manager.size, 0);
  });
});

describe('⏮ back', () => {
  const tone = (seconds: number, level: number): MonoAudio => ({ sampleRate: RATE, samples: new Float32Array(RATE * seconds).fill(level) });

  async function drain(stream: PcmStream): Promise<void> {
    stream.end();
    for await (const _chunk of stream) {
      // read everything: each segment is taken for conversion, and held
    }
  }

  /** A replay as start and indices into `all` (deepEqual on the audio itself would print megabytes on a failure). */
  const which = (replay: Replay | undefined, all: readonly MonoAudio[]) =>
    replay && { startMs: replay.startMs, segments: replay.segments.map((s) => all.indexOf(s)) };

  test('replays the segment under the play position, or the one before it in its first second', async () => {
    const stream = new PcmStream();
    const all = [tone(1, 0.1), tone(2, 0.2), tone(2, 0.3)];
    for (const s of all) stream.pushSegment(s);
    await drain(stream);
    assert.deepEqual(which(stream.replayFrom(500), all), { startMs: 0, segments: [0, 1, 2] }, 'in the first segment: from its start');
    assert.deepEqual(which(stream.replayFrom(2_500), all), { startMs: 1_000, segments: [1, 2] }, '1.5 s into the second: it again');
    assert.deepEqual(which(stream.replayFrom(1_400), all), { startMs: 0, segments: [0, 1, 2] }, 'in the second’s first second: the first');
    assert.deepEqual(which(stream.replayFrom(3_200), all), { startMs: 1_000, segments: [1, 2] }, 'in the third’s first second: the second');
    assert.deepEqual(which(stream.replayFrom(4_500), all), { startMs: 3_000, segments: [2] });
  });

  test('holds only the last few segments (memory stays bounded)', async () => {
    const stream = new PcmStream(undefined, 10_000);
    const all = Array.from({ length: 8 }, (_, i) => tone(1, 0.05 * (i + 1)));
    for (const s of all) stream.pushSegment(s);
    await drain(stream);
    assert.equal(stream.replayFrom(10_500), undefined, 'the first segments are gone');
    assert.deepEqual(which(stream.replayFrom(17_500), all), { startMs: 16_000, segments: [6, 7] });
    assert.deepEqual(which(stream.replayFrom(14_200), all), { startMs: 14_000, segments: [4, 5, 6, 7] }, 'the oldest held');
  });

  test('a track’s replay plays from memory: from the segment being heard to the end, the engine asked once', async () => {
    const parts = [tone(1, 0.1), tone(2, 0.2), tone(2, 0.3)];
    let narrations = 0;
    const source: NarrationSource = {
      narrate: () => {
        narrations++;
        return {
          cancel: () => undefined,
          async *segments(): AsyncGenerator<Segment, NarrationSummary, undefined> {
            for (const [index, audio] of parts.entries()) yield { index, text: `part ${index}`, audio, fromCache: false, retries: 0 };
            return { chunks: 3, sampleRate: RATE, durationSec: 5, firstAudioMs: 0, totalMs: 0, retries: 0, cacheHits: 0, gpuSeconds: 0, charsSynthesized: 0, spokenChars: 0 };
          },
        };
      },
    };
    const track = new NarrationTrack({ text: 'three parts', voice: 'narrator', speed: 1, chunksTotal: 3, requesterId: '1', requesterName: 'u' }, source);
    allTracks.push(track);
    const first = track.createAudioResource();
    await waitFor('synthesized', () => track.synthesisSettled);
    assert.equal(track.rewind() === undefined, true, 'nothing heard yet: nothing to go back to');
    await readUntil(first, 2_500); // 1.5 s into the second part
    const replay = track.rewind();
    assert.ok(replay !== undefined, 'a replay');
    assert.equal(track.positionMs, 1_000, 'back at the start of the second part');
    const ms = await readToEnd(replay);
    // The second and third parts again (4 s) — the Opus encoder may pad the last frame.
    assert.ok(Math.abs(ms - 4_000) <= 40, `replayed ${ms} ms`);
    assert.equal(narrations, 1, 'no new synthesis');
    track.playbackEnded();
    const outcome = await track.finished;
    assert.equal(outcome.kind, 'completed');
    if (outcome.kind === 'completed') await outcome.audio?.dispose();
  });
});

/** Plays (reads packets of) a resource as the player would, until `ms` of it have been played. */
async function readUntil(resource: AudioResource, ms: number): Promise<void> {
  while (resource.playbackDuration < ms) {
    if (!resource.read()) await sleep(1);
  }
}

/** Plays a resource to its end; returns how much was played (ms). */
async function readToEnd(resource: AudioResource): Promise<number> {
  while (!resource.playStream.readableEnded) {
    if (!resource.read()) await sleep(1);
  }
  return resource.playbackDuration;
}
