/**
 * End to end (issue 11, parts 1–2): the real bot process against the fake Discord and the RunPod emulator, for the
 * new ways in.
 * - "Narrate" on a user's message (Apps → Narrate): its text is narrated — what a listener heard is the engine's
 *   narration of that text (same length, same envelope, chunks in order) — and the reply links to the message; a
 *   mention in it is read as the member's name; a `.md` attachment is read after the content.
 * - `/narrate file:` with a 4000-character UTF-8 `.txt`, and the same text as UTF-16 LE with a BOM: every chunk
 *   heard, in order, and the first audio plays before the last chunk is synthesized; the reply names the file.
 * - A 2 MiB file and a PNG renamed `.txt`: refused privately, naming the problem; no job on the emulator, no voice
 *   connection, an empty queue (and the 2 MiB file was never downloaded).
 * - A file narration of 7000 characters (over a typed text's 6000) is kept in the persisted queue at SIGTERM and
 *   continued after the restart (the stored entry holds the file's text; the restart applies the file default); its
 *   reply still names the file, and a message narration queued behind it still links to its message.
 * Ends with no job left on the emulator, no voice connection and a clean shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord, toMono } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { fakePitchHz, fakeSynthesize } from './support/fakeVoice.js';
import { openStorage } from '../src/services/storage/index.js';
import { prepareText } from '../src/services/text/index.js';
import { envelopeMatch, expectedNarration, heardSequence, seconds } from './support/narrationAudio.js';
import { startRunPodEmulator, type RunPodEmulator, type RunPodJobRecord } from './support/runpodEmulator.js';
import type { Invocation } from './support/fakeDiscord/index.js';

/** The fake voice, twenty times faster: a 4000-character text plays in about 15 s. */
const fastVoice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed * 20);
const VOICES = ['narrator'];
/** A word only the last sentence has: its chunk is slow to synthesize, so playback provably starts first. */
const SLOW_MARKER = 'cuốicùng';
const SLOW_CHUNK_MS = 4_000;
const EPHEMERAL = 64;

const WORDS = 'hôm nay trời đẹp quá chúng ta cùng nhau ra công viên đi dạo và ngắm hoa bên hồ nước trong xanh'.split(' ');

/** Long Vietnamese sentences (~200–250 characters: a chunk each), numbered from `variant` so texts differ. */
function sentences(count: number, variant: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const n = variant + k;
    const words = Array.from({ length: 42 + (n % 9) }, (_, i) => WORDS[(n * 7 + i) % WORDS.length]);
    return `Câu số ${n}, ${words.join(' ')}.`;
  });
}

/** Pitches closer than this cannot be told apart by heardSequence (±4 Hz per label, plus estimation error). */
const PITCH_GAP_HZ = 8;

/** The chunks (as the engine cuts them) whose fake-voice pitch no other chunk of the text comes near. */
function distinctChunks(chunks: readonly string[]): string[] {
  return chunks.filter((c) => chunks.every((o) => o === c || Math.abs(fakePitchHz(o) - fakePitchHz(c)) > PITCH_GAP_HZ));
}

/**
 * Exactly `chars` characters of long sentences ending with a slow one (see SLOW_MARKER). Of the variants, the
 * first whose chunks have at least `minDistinct` distinct pitches is taken, so the order check has enough to hear.
 */
function story(chars: number, minDistinct: number): string {
  const last = `Và đây là câu ${SLOW_MARKER} của truyện.`;
  for (let variant = 1; ; variant++) {
    const body: string[] = [];
    let length = last.length;
    for (const sentence of sentences(200, variant)) {
      if (length + sentence.length + 1 > chars - 60) break;
      body.push(sentence);
      length += sentence.length + 1;
    }
    // A filler sentence brings the text to exactly `chars` characters.
    const room = chars - length - 1;
    const filler = `${'hoa nở bên hồ '.repeat(Math.ceil(room / 14)).slice(0, room - 1).trimEnd()}`.padEnd(room - 1, 'a') + '.';
    const text = [...body, filler, last].join(' ');
    const chunks = prepareText(text, { maxSpokenChars: 100_000 }).chunks.map((c) => c.text);
    if (distinctChunks(chunks).length >= minDistinct) return text;
  }
}

function utf16leWithBom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

describe('e2e: the Narrate message command and /narrate file:', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;

  before(async () => {
    runpod = await startRunPodEmulator({
      workers: 6,
      synth: fastVoice,
      jobTimeMs: (input) => (String(input['text']).includes(SLOW_MARKER) ? SLOW_CHUNK_MS : 150),
    });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    bot = await startBot({ fake, runpod, env: { TTS_VOICES: VOICES.join(','), CACHE_MAX_MB: '0' } });
  });

  after(async () => {
    try {
      if (bot?.running) await bot.stopCleanly();
      assert.deepEqual(fake.problems, []);
    } finally {
      await bot?.dispose();
      await fake?.close();
      await runpod?.close(); // rejects if a job is still queued or running
    }
  });

  /** The jobs a narration submitted (those submitted since `since`), and its chunk texts in the order of the text. */
  function jobsSince(since: number): RunPodJobRecord[] {
    return runpod.jobs.filter((j) => j.submittedAt >= since && j.input['text'] !== undefined);
  }

  /**
   * Checks what a listener in `world` heard against the engine's own narration of `text`: the same length, the
   * same loudness envelope (a halves-swapped control is far off), and the chunks in the order of the text (by the
   * fake voice's per-chunk pitch, for the chunks whose pitch is unambiguous).
   */
  async function assertHeardInOrder(world: VoiceGuild, text: string, jobs: readonly RunPodJobRecord[]): Promise<string> {
    const want = await expectedNarration({ text, voice: 'narrator', speed: 0.9, voices: VOICES, synth: fastVoice });
    const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(world.guild.id)) };
    const drift = Math.abs(seconds(heard) - seconds(want)) / seconds(want);
    assert.ok(drift < 0.03, `heard ${seconds(heard).toFixed(2)} s, the engine made ${seconds(want).toFixed(2)} s`);
    const match = envelopeMatch(heard, want);
    assert.ok(match.r > 0.9, `envelope correlation ${match.r.toFixed(3)} at ${match.lagMs} ms`);
    const half = Math.floor(want.samples.length / 2);
    const swapped = new Float32Array(want.samples.length);
    swapped.set(want.samples.subarray(half));
    swapped.set(want.samples.subarray(0, half), want.samples.length - half);
    assert.ok(envelopeMatch(heard, { sampleRate: want.sampleRate, samples: swapped }).r < 0.8, 'the measure tells orders apart');

    // Chunks in the order of the text: each job's text is a chunk; order them by where they are in the text.
    const chunks = [...new Set(jobs.map((j) => String(j.input['text'])))];
    const at = (chunk: string) => text.indexOf(chunk.slice(0, 30));
    assert.ok(chunks.every((c) => at(c) >= 0), 'every chunk comes from the text');
    chunks.sort((a, b) => at(a) - at(b));
    // Only chunks whose pitch no other chunk comes near can be told apart by ear (story() makes sure there are some).
    const distinct = distinctChunks(chunks);
    assert.ok(distinct.length >= 3, `${distinct.length} of ${chunks.length} chunks have a distinct pitch`);
    const labels = Object.fromEntries(distinct.map((c) => [String(chunks.indexOf(c)), fakePitchHz(c)]));
    assert.deepEqual(heardSequence(heard, labels), distinct.map((c) => String(chunks.indexOf(c))), 'chunks heard in the order of the text');
    return `heard ${seconds(heard).toFixed(2)} s of ${seconds(want).toFixed(2)} s, envelope r ${match.r.toFixed(3)}, ${chunks.length} chunks (${distinct.length} told apart by pitch, in order)`;
  }

  async function finalEdit(inv: Invocation) {
    await inv.deferred();
    return inv.waitForEdit((e) => e.files.length > 0, 90_000);
  }

  test('"Narrate" on a message: its text narrated, every chunk heard in order, the reply links to the message', async (t) => {
    const world = createVoiceGuild(fake, 'Tin nhắn', ['alice', 'bob']);
    const content = story(1000, 3);
    const posted = fake.postUserMessage({ user: world.users['bob']!, channel: world.text.id, content });
    const since = performance.now();
    const inv = fake.invokeMessageCommand({ user: world.users['alice']!, message: posted.id, name: 'Narrate' });
    const final = await finalEdit(inv);
    const jobs = jobsSince(since);
    const link = `https://discord.com/channels/${world.guild.id}/${world.text.id}/${posted.id}`;
    assert.match(contentOf(final), /^✅ Narrated · \d:\d\d · voice \*\*narrator\*\*/);
    assert.ok(contentOf(final).includes(`\n💬 ${link}\n`), `the reply links to the message:\n${contentOf(final)}`);
    assert.match(contentOf(final), /```\nCâu số 1,/);
    t.diagnostic(await assertHeardInOrder(world, content, jobs));
    assert.equal(fake.botVoiceChannel(world.guild.id), world.voice.id);
  });

  test('"Narrate" on a message with a mention: the mention is read as the member’s name; nothing to read, or no voice channel: refused', async () => {
    const world = createVoiceGuild(fake, 'Nhắc tên', ['carol', 'dave'], ['carol']);
    const posted = fake.postUserMessage({ user: world.users['dave']!, channel: world.text.id, content: `Chào <@${world.users['carol']!}>, hẹn gặp lại nhé.` });
    const since = performance.now();
    const inv = fake.invokeMessageCommand({ user: world.users['carol']!, message: posted.id, name: 'Narrate', locale: 'vi' });
    await finalEdit(inv);
    const spoken = jobsSince(since).map((j) => String(j.input['text'])).join(' ');
    assert.match(spoken, /carol/, spoken);
    assert.doesNotMatch(spoken, /\d{5,}/, 'no id read aloud');

    // Only a .png attached: nothing to read, said at once and privately.
    const png = fake.uploadAttachment({ filename: 'anh.png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1]) });
    const picture = fake.postUserMessage({ user: world.users['dave']!, channel: world.text.id, attachments: [png.id] });
    const jobsBefore = runpod.jobs.length;
    const refused = fake.invokeMessageCommand({ user: world.users['carol']!, message: picture.id, name: 'Narrate' });
    const reply = await refused.replied();
    assert.equal(((reply.data as { flags?: number }).flags ?? 0) & EPHEMERAL, EPHEMERAL);
    assert.match(contentOf(reply), /^That message has nothing I can read aloud/);
    assert.equal(runpod.jobs.length, jobsBefore);
    assert.equal(fake.attachmentDownloads(png.id).requests, 0);

    // Content, then the .md attachment's text after it (its markup not read).
    const notes = fake.uploadAttachment({ filename: 'ghi-chu.md', bytes: Buffer.from('# Chương hai\n\n**Trời** tối dần trên cánh đồng.\n', 'utf8') });
    const withFile = fake.postUserMessage({ user: world.users['dave']!, channel: world.text.id, content: 'Mở đầu câu chuyện.', attachments: [notes.id] });
    const sinceFile = performance.now();
    const withFileInv = fake.invokeMessageCommand({ user: world.users['carol']!, message: withFile.id, name: 'Narrate' });
    const withFileDone = await finalEdit(withFileInv);
    assert.match(contentOf(withFileDone), /```\nMở đầu câu chuyện\.\n📄 ghi-chu\.md\n```$/);
    const read = jobsSince(sinceFile).map((j) => String(j.input['text'])).join(' ');
    // (Jobs run in parallel, so their submission order is not the text's; the order is checked by ear above.)
    for (const words of ['Mở đầu câu chuyện', 'Chương hai', 'Trời tối dần trên cánh đồng']) assert.ok(read.includes(words), `${words} in: ${read}`);
    assert.doesNotMatch(read, /[#*]/, 'markdown markup is not read');
    assert.equal(fake.attachmentDownloads(notes.id).completed, 1);

    // dave is in no voice channel: told where the command is, not about /narrate's options.
    const jobsNow = runpod.jobs.length;
    const outside = fake.invokeMessageCommand({ user: world.users['dave']!, message: posted.id, name: 'Narrate' });
    assert.match(contentOf(await outside.replied()), /^Join a voice channel first, then use \*\*Apps → Narrate\*\* on the message again\.$/);
    assert.equal(runpod.jobs.length, jobsNow);
  });

  for (const encoding of ['UTF-8', 'UTF-16 LE with BOM'] as const) {
    test(`/narrate file: a 4000-character ${encoding} .txt — every chunk heard in order, first audio before the last chunk`, async (t) => {
      const world = createVoiceGuild(fake, `Tệp ${encoding}`, ['erin']);
      const text = story(4000, 4);
      assert.equal(text.length, 4000);
      const bytes = encoding === 'UTF-8' ? Buffer.from(text, 'utf8') : utf16leWithBom(text);
      const file = fake.uploadAttachment({ filename: 'chuong-1.txt', bytes });
      const since = performance.now();
      const inv = fake.invokeCommand({ user: world.users['erin']!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { file: file.id } });
      const final = await finalEdit(inv);

      const jobs = jobsSince(since);
      assert.ok(jobs.length > 5, `${jobs.length} chunks`);
      assert.ok(jobs.every((j) => j.status === 'COMPLETED'));
      const lastJobDone = Math.max(...jobs.map((j) => j.finishedAt ?? Infinity));
      const firstPacket = fake.firstPacketAt(world.guild.id);
      assert.ok(firstPacket !== undefined && firstPacket < lastJobDone, `first audio ${Math.round(lastJobDone - (firstPacket ?? 0))} ms before the last chunk was ready`);
      assert.match(contentOf(final), /^✅ Narrated · \d:\d\d · voice \*\*narrator\*\*/);
      assert.match(contentOf(final), /```\n📄 chuong-1\.txt\n```$/, 'the reply names the file, not its text');
      assert.equal(fake.attachmentDownloads(file.id).completed, 1);
      t.diagnostic(`first audio ${Math.round(lastJobDone - firstPacket)} ms before the last chunk was ready; ${await assertHeardInOrder(world, text, jobs)}`);
    });
  }

  test('a 2 MiB file (declared, or lying) and a PNG renamed .txt: refused privately naming the problem; no job, no voice connection, an empty queue', async (t) => {
    const world = createVoiceGuild(fake, 'Từ chối', ['frank']);
    const user = world.users['frank']!;
    const jobsBefore = runpod.jobs.length;
    const big = fake.uploadAttachment({ filename: 'sach.txt', bytes: Buffer.alloc(2 * 1024 * 1024, 0x61) });
    const pngBytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.alloc(200, 7)]);
    const png = fake.uploadAttachment({ filename: 'truyen.txt', bytes: pngBytes });
    const cases = [
      { file: big, expect: /^This file is too large \(2 MiB\): I read files up to 1 MiB\./ },
      { file: png, expect: /^This file is a PNG image, not text\./ },
    ];
    for (const c of cases) {
      const inv = fake.invokeCommand({ user, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { file: c.file.id } });
      // Private, at once or — when the download was slow — after a defer: answeredPrivately rejects a public answer.
      assert.match((await inv.answeredPrivately()).content, c.expect);
    }
    assert.equal(fake.attachmentDownloads(big.id).requests, 0, 'the 2 MiB file was refused from its declared size, never downloaded');

    // The same 2 MiB claiming to be 1 KB, sent in 64 KiB pieces without a Content-Length: cut off past the limit.
    const liar = fake.uploadAttachment({ filename: 'nho.txt', bytes: Buffer.alloc(2 * 1024 * 1024, 0x61), declaredSize: 1000, delivery: { chunkBytes: 64 * 1024, delayMs: 2, omitLength: true } });
    const lied = fake.invokeCommand({ user, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { file: liar.id } });
    assert.match((await lied.answeredPrivately()).content, /^This file is too large: I read files up to 1 MiB\./);
    const taken = await fake.waitFor(() => {
      const d = fake.attachmentDownloads(liar.id);
      return d.requests === 1 && d.bytesSent > 0 ? d : undefined;
    }, 10_000, 'the download to end');
    assert.equal(taken.completed, 0, 'never read whole');
    t.diagnostic(`a lying 2 MiB download was cut after ${Math.round(taken.bytesSent / 1024)} KiB had been sent (limit 1024 KiB)`);
    // Bytes the fake wrote include what loopback socket buffers absorbed while the bot read at its own pace (1.86 MiB
    // once, on a loaded machine): the bound the bot keeps (never more than the limit read) is download.ts's, tested
    // there against a local server. What shows here: the bot hung up before the end.
    assert.ok(taken.bytesSent < 2 * 1024 * 1024, `${taken.bytesSent} bytes sent: the whole file, the bot never hung up`);
    assert.equal(runpod.jobs.length, jobsBefore, 'no job submitted');
    assert.equal(fake.botVoiceChannel(world.guild.id), null, 'no voice connection');
    assert.ok(!fake.voiceRequests.some((r) => r.guildId === world.guild.id), 'no voice join asked');
    const queue = fake.invokeCommand({ user, guild: world.guild.id, channel: world.text.id, name: 'queue' });
    const answer = await queue.acknowledged();
    const shown = answer.type === 5 ? contentOf(await queue.waitForEdit()) : contentOf(answer);
    assert.equal(shown, 'The queue is empty.');

    // Neither text nor file, and both: refused before anything else.
    const neither = fake.invokeCommand({ user, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: {} });
    assert.match(contentOf(await neither.replied()), /^Give a `text` to read, or attach a `file`/);
    const both = fake.invokeCommand({ user, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: 'Xin chào', file: png.id } });
    assert.match(contentOf(await both.replied()), /^Give either `text` or `file`, not both\./);
    assert.equal(runpod.jobs.length, jobsBefore);
  });
});

describe('e2e: a file narration longer than a typed text survives a restart', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;
  let dbDir: string;
  let env: Record<string, string>;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 4, synth: fastVoice, jobTimeMs: () => 150 });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    dbDir = await mkdtemp(join(tmpdir(), 'narrator-db-'));
    env = { DATABASE_URL: `sqlite:${join(dbDir, 'narrator.db')}`, TTS_VOICES: VOICES.join(','), CACHE_MAX_MB: '0' };
  });

  after(async () => {
    await bot?.dispose();
    await fake?.close();
    await runpod?.close();
    await rm(dbDir, { recursive: true, force: true });
  });

  test('7000 characters from a file (over the 6000 of a typed text): kept at SIGTERM, continued and finished after the restart', async () => {
    const world = createVoiceGuild(fake, 'Khởi động lại', ['gina']);
    bot = await startBot({ fake, runpod, env });
    const text = story(7000, 0);
    const file = fake.uploadAttachment({ filename: 'chuong-dai.txt', bytes: Buffer.from(text, 'utf8') });
    const inv = fake.invokeCommand({ user: world.users['gina']!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { file: file.id } });
    await inv.deferred();
    // Queued behind it: a message read with the Narrate command, whose reply links to the message.
    const posted = fake.postUserMessage({ user: world.users['gina']!, channel: world.text.id, content: 'Chào cả nhà, hẹn gặp lại sau nhé.' });
    const fromMessage = fake.invokeMessageCommand({ user: world.users['gina']!, message: posted.id, name: 'Narrate' });
    await fromMessage.deferred();
    const link = `https://discord.com/channels/${world.guild.id}/${world.text.id}/${posted.id}`;
    await pollUntil(() => (fake.receivedAudio(world.guild.id).length / 2 / 48_000 > 3 ? true : undefined), 60_000, 'three seconds heard');
    await bot.stopCleanly();
    assert.match(contentOf(inv.edits.at(-1)!), /^⏸️ The bot is restarting: this narration will continue/);
    const storage = await openStorage(env.DATABASE_URL!);
    const kept = await storage.pendingQueue();
    await storage.close();
    assert.equal(kept.length, 2);
    assert.ok(kept[1]!.sourceLink?.includes(link), `the message's link is stored: ${kept[1]!.sourceLink}`);
    assert.equal(kept[0]!.text, text, 'the file’s text is stored whole: the attachment URL would have expired');

    assert.match(kept[0]!.quote ?? '', /chuong-dai\.txt/, 'the reply’s quote (the file’s name) is stored');

    bot = await startBot({ fake, runpod, env });
    const resumed = await inv.waitForEdit((e) => contentOf(e).startsWith('🔁 Resumed after a restart.'), 30_000);
    const done = await inv.waitForEdit((e) => e.files.length > 0, 120_000);
    assert.match(contentOf(done), /^✅ Narrated/);
    for (const reply of [resumed, done]) {
      // Still the file's name under the status, not its first 600 characters.
      assert.ok(contentOf(reply).includes('chuong-dai.txt'), contentOf(reply));
      assert.ok(!contentOf(reply).includes(text.slice(0, 40)), contentOf(reply));
    }
    const messageDone = await fromMessage.waitForEdit((e) => e.files.length > 0, 60_000);
    assert.ok(contentOf(messageDone).includes(`\n💬 ${link}\n`), `the resumed reply still links to the message:\n${contentOf(messageDone)}`);
    assert.equal(fake.attachmentDownloads(file.id).requests, 1, 'the file was downloaded once, before the restart');
    await bot.stopCleanly();
    bot = undefined;
    const after = await openStorage(env.DATABASE_URL!);
    try {
      assert.deepEqual(await after.pendingQueue(), [], 'nothing left in the persisted queue');
    } finally {
      await after.close();
    }
    assert.deepEqual(runpod.activeJobs(), []);
    assert.deepEqual(fake.problems, []);
  });
});
