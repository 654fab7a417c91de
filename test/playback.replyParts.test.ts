/**
 * The final reply of a narration whose audio does not fit the upload limit even as Ogg Opus: part 1 with the
 * status (which says how many parts and why), then one message per further part, the way the final message went
 * (interaction follow-ups; the channel once the token is no longer usable). A part that cannot be posted is said so
 * in the reply. Driven by a real NarrationTrack over the real engine with a tone backend; the recording's temp
 * files are gone afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { RECORDING_PREFIX } from '../src/services/audio/narrationRecording.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { SynthesisRequest, SynthesisResult, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import { followTrack, MAX_AUDIO_PARTS, type OutgoingMessage, type ReplyTarget } from '../src/services/playback/narrationReply.js';
import { encodeTestWav } from './support/fakeVoice.js';
import { decodeOggOpusFile } from './support/oggOpusFile.js';

const RATE = 24_000;

/** Three seconds of a chunk-specific tone per chunk. */
class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone3';
  async synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
    const hz = 200 + (request.text.length % 50) * 4;
    const samples = new Float32Array(RATE * 3);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * hz * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

const TEXT = Array.from({ length: 8 }, (_, i) => `Câu thứ ${i + 1} kể về một ngày dài ở làng quê, khi mọi người ra đồng gặt lúa.`).join(' ');

/** A finished file narration (~24 s of audio: ~100 kB as Ogg Opus). */
async function finishedTrack(): Promise<NarrationTrack> {
  const orchestrator = new Orchestrator({ backend: new ToneBackend(), scheduler: new FairScheduler(2), voices: ['narrator'], defaultVoice: 'narrator', defaultSpeed: 1, narrationTimeoutMs: 60_000 });
  const plan = orchestrator.plan({ text: TEXT });
  const track = new NarrationTrack({ text: TEXT, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId: '42', requesterName: 'Ana' }, orchestrator);
  track.startSynthesis({ playback: false });
  track.playbackEnded();
  return track;
}

interface Sent extends OutgoingMessage {
  readonly via: 'edit' | 'post' | 'dm' | 'followUp';
}

function target(opts: { followUpFailsFrom?: number; expiresAt?: number } = {}): ReplyTarget & { sent: Sent[] } {
  const sent: Sent[] = [];
  let followUps = 0;
  return {
    sent,
    channelId: '555',
    expiresAt: opts.expiresAt ?? Date.now() + 15 * 60_000,
    edit: async (m) => void sent.push({ ...m, via: 'edit' }),
    post: async (m) => void sent.push({ ...m, via: 'post' }),
    direct: async (m) => void sent.push({ ...m, via: 'dm' }),
    followUp: async (m) => {
      followUps++;
      if (opts.followUpFailsFrom !== undefined && followUps >= opts.followUpFailsFrom) throw Object.assign(new Error('Request entity too large'), { code: 40005, status: 413 });
      sent.push({ ...m, via: 'followUp' });
    },
  };
}

async function noRecordingLeft(): Promise<void> {
  assert.deepEqual((await readdir(tmpdir())).filter((n) => n.startsWith(RECORDING_PREFIX)), [], 'no recording left in the temp folder');
}

describe('audio in parts', () => {
  test('part 1 with the status, the others as follow-ups, each under the limit and playable', async () => {
    const limit = 30 * 1024;
    const track = await finishedTrack();
    const reply = target();
    await followTrack(track, reply, { lang: 'en', attachmentSizeLimit: limit, minIntervalMs: 0 });
    const final = reply.sent.filter((m) => m.via === 'edit').at(-1)!;
    const said = /Too long for one file under this server's 30 KB upload limit, even compressed to Ogg Opus: the audio comes in (\d+) parts/.exec(final.content);
    assert.ok(said, final.content);
    const parts = Number(said[1]);
    const followUps = reply.sent.filter((m) => m.via === 'followUp');
    assert.equal(followUps.length, parts - 1);
    assert.deepEqual(followUps.map((m) => m.content), followUps.map((_, i) => `🎧 Narration audio, part ${i + 2}/${parts}.`));
    const files = [...final.files!, ...followUps.flatMap((m) => m.files!)];
    assert.equal(files.length, parts, 'one file per message');
    let total = 0;
    for (const f of files) {
      assert.ok(f.data.length <= limit, `${f.name}: ${f.data.length} bytes`);
      total += decodeOggOpusFile(f.data).audio.samples.length;
    }
    const outcome = track.outcome;
    assert.equal(outcome?.kind, 'completed');
    const narrated = outcome.summary.durationSec;
    assert.ok(Math.abs(total / 48_000 - narrated) < 0.01, `the parts hold ${(total / 48_000).toFixed(3)} s of the ${narrated.toFixed(3)} s narrated`);
    await noRecordingLeft();
  });

  test('Vietnamese, and a part Discord refuses: the reply says how many parts arrived', async () => {
    const track = await finishedTrack();
    const reply = target({ followUpFailsFrom: 2 });
    await followTrack(track, reply, { lang: 'vi', attachmentSizeLimit: 30 * 1024, minIntervalMs: 0 });
    const edits = reply.sent.filter((m) => m.via === 'edit');
    const parts = Number(/âm thanh được chia thành (\d+) phần/.exec(edits.at(-2)!.content)?.[1]);
    assert.ok(parts >= 3, edits.at(-2)!.content);
    assert.equal(reply.sent.filter((m) => m.via === 'followUp').length, 1, 'part 2 went, part 3 was refused');
    assert.match(edits.at(-1)!.content, new RegExp(`Chỉ gửi được 2 trên ${parts} phần âm thanh`));
    assert.equal(edits.at(-1)!.files, undefined, 'the note keeps part 1 attached (no files in the edit)');
    await noRecordingLeft();
  });

  test('token no longer usable: the final message and every part go to the channel', async () => {
    const track = await finishedTrack();
    const reply = target({ expiresAt: Date.now() });
    await followTrack(track, reply, { lang: 'en', attachmentSizeLimit: 30 * 1024, minIntervalMs: 0 });
    const posts = reply.sent.filter((m) => m.via === 'post');
    const parts = Number(/comes in (\d+) parts/.exec(posts[0]!.content)?.[1]);
    assert.ok(parts >= 3);
    assert.equal(posts.length, parts);
    assert.equal(reply.sent.filter((m) => m.via === 'followUp').length, 0);
    await noRecordingLeft();
  });

  test('more parts than MAX_AUDIO_PARTS: none is posted, the reply says why', async () => {
    const track = await finishedTrack();
    const reply = target();
    await followTrack(track, reply, { lang: 'en', attachmentSizeLimit: 9 * 1024, minIntervalMs: 0 });
    const final = reply.sent.filter((m) => m.via === 'edit').at(-1)!;
    assert.match(final.content, new RegExp(`too large to attach here, even in parts: it would take \\d+ files .* at most ${MAX_AUDIO_PARTS} are posted`));
    assert.equal(final.files, undefined);
    assert.equal(reply.sent.filter((m) => m.via === 'followUp').length, 0);
    await noRecordingLeft();
  });
});
