/**
 * RunPodBackend under what the plain tests do not inject (issues 8, 9, 13): an API storm (most status and cancel
 * calls answered 429/503), an abort whose reason is another chunk's final error, untrusted worker URLs (redirects
 * to local addresses, metadata addresses, plain http, a 200 MiB body), prefetch priority, and the worker's
 * download-confirmation wait. Assertions are structural — which jobs existed, when each ended relative to the next,
 * what reached which server — never wall-clock durations. Every test ends with nothing running on the emulator
 * (its close() refuses otherwise).
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { Writable } from 'node:stream';
import { NarratorError } from '../src/services/errors.js';
import { createLogger } from '../src/services/log.js';
import { RunPodBackend, type RunPodOptions } from '../src/services/tts/runpod.js';
import { isListedHost, isPublicAddress, parseHostList, workerRequest } from '../src/services/tts/workerUrl.js';
import { decodeWavMono } from '../src/services/audio/wav.js';
import { startHttpServer, type StartedServer } from './support/httpServer.js';
import { startRunPodEmulator, type RunPodEmulator, type RunPodEmulatorOptions, type RunPodJobRecord } from './support/runpodEmulator.js';

const TEXT = 'Xin chào, đây là một thử nghiệm của hệ thống đọc truyện.';
let emulator: RunPodEmulator | undefined;
const extraServers: StartedServer[] = [];

afterEach(async () => {
  for (const s of extraServers.splice(0)) await s.close();
  if (!emulator) return;
  const emu = emulator;
  emulator = undefined;
  await emu.close(); // rejects, listing them, if a job is still queued or running
});

function logSink(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger('debug', stream);
  return { logger, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function setup(emu: RunPodEmulatorOptions = {}, backend: Partial<RunPodOptions> = {}) {
  emulator = await startRunPodEmulator({ jobTimeMs: () => 60, ...emu });
  const rp = new RunPodBackend({
    apiKey: emulator.apiKey,
    endpointId: emulator.endpointId,
    baseUrl: emulator.baseUrl,
    refNameTemplate: 'sample/{voice}.wav',
    executionTimeoutMs: 10_000,
    retryBaseMs: 5,
    backoffBaseMs: 2,
    workerHosts: ['127.0.0.1'],
    pollMinMs: 20,
    pollMaxMs: 50,
    ...backend,
  });
  return { emu: emulator, rp };
}

function synth(rp: RunPodBackend, o: { text?: string; voice?: string; signal?: AbortSignal; lowPriority?: boolean } = {}) {
  return rp.synthesize({ text: o.text ?? TEXT, voice: o.voice ?? 'narrator', speed: 1 }, { signal: o.signal ?? new AbortController().signal, lowPriority: o.lowPriority });
}

async function failure(p: Promise<unknown>): Promise<NarratorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NarratorError, `expected NarratorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the synthesis to fail');
}

/** For every text: its jobs never overlap — each later job was submitted after the previous one had ended. */
function assertOneJobAtATimePerText(jobs: readonly RunPodJobRecord[]): void {
  const byText = new Map<string, RunPodJobRecord[]>();
  for (const job of jobs) {
    const text = String(job.input['text']);
    byText.set(text, [...(byText.get(text) ?? []), job]);
  }
  for (const [text, list] of byText) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const endedAt = prev.finishedAt ?? prev.deletedAt;
      assert.ok(endedAt !== undefined && list[i]!.submittedAt >= endedAt, `"${text.slice(0, 30)}": job ${i + 1} submitted while job ${i} could still run`);
    }
  }
}

const stormOf = (fraction: number, seed = 7) => ({ fraction, seed });

test('storm: 90 % of status and cancel calls refused — every chunk completes with exactly one job', async () => {
  const { emu, rp } = await setup({ workers: 4, jobTimeMs: () => 80, storm: stormOf(0.9) });
  const texts = Array.from({ length: 8 }, (_, i) => `${TEXT} Câu số ${i + 1}.`);
  const results = await Promise.all(texts.map((text) => synth(rp, { text })));
  assert.ok(results.every((r) => decodeWavMono(r.wav).samples.length > 0));
  assert.equal(emu.jobs.length, texts.length, 'no job abandoned and submitted again');
  assert.ok(emu.requests.log.filter((r) => r.status === 429 || r.status === 503).length > texts.length, 'the storm did happen');
});

test('storm: a chunk whose job fails is re-submitted only after that job ended', async () => {
  const { emu, rp } = await setup({
    workers: 3,
    jobTimeMs: () => 50,
    storm: stormOf(0.9, 11),
    fault: (c) => (c.attemptForText === 1 ? { kind: 'seed-error', error: 'tts_failed', message: 'CUDA hiccup' } : undefined),
  });
  const texts = Array.from({ length: 5 }, (_, i) => `${TEXT} Lần ${i + 1}.`);
  const results = await Promise.all(texts.map((text) => synth(rp, { text })));
  assert.deepEqual(results.map((r) => r.retries), texts.map(() => 1));
  assert.equal(emu.jobs.length, texts.length * 2);
  assertOneJobAtATimePerText(emu.jobs);
});

test('storm: an abort cancels the job — synthesize settles only once the job is known cancelled', async () => {
  const { emu, rp } = await setup({ jobTimeMs: () => 60_000, storm: stormOf(0.9, 3) }, {});
  const ac = new AbortController();
  const p = synth(rp, { signal: ac.signal });
  while (emu.jobs[0]?.status !== 'IN_PROGRESS') await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  const err = await failure(p);
  assert.equal(err.kind, 'aborted');
  // Structural: at the moment the caller learns of the abort, the GPU job is already cancelled (slot held till then).
  assert.equal(emu.jobs[0]!.status, 'CANCELLED');
  assert.ok(emu.requests.count('cancel') >= 1);
  assert.equal(await rp.drain(1_000), true);
});

test('an abort whose reason is another chunk\'s final error still cancels this chunk\'s job (issue 8 point 2)', async () => {
  const { emu, rp } = await setup({
    workers: 2,
    fault: (c) =>
      c.input['text'] === 'missing voice'
        ? { kind: 'error', error: 'Flask API error: {"error":"ref_not_found"}', extra: { status_code: 404 } }
        : { kind: 'hang' },
  });
  const other = new AbortController();
  const running = synth(rp, { text: 'a sentence that keeps the GPU busy', signal: other.signal });
  const failed = await failure(synth(rp, { text: 'missing voice' }));
  assert.equal(failed.code, 'voice_not_installed');
  // The orchestrator aborts the later chunks with the failed chunk's error as the reason.
  while (emu.jobs.find((j) => j.input['text'] !== 'missing voice')?.status !== 'IN_PROGRESS') await new Promise((r) => setTimeout(r, 5));
  other.abort(failed);
  const err = await failure(running);
  assert.equal(err, failed, 'the abort reason is what the caller sees');
  const hung = emu.jobs.find((j) => j.input['text'] !== 'missing voice')!;
  assert.equal(hung.status, 'CANCELLED', 'the other chunk\'s job was cancelled, not left running');
});

test('lowPriority (prefetch) is sent as policy.lowPriority; normal jobs carry no such flag', async () => {
  const { emu, rp } = await setup();
  await synth(rp, { lowPriority: true });
  await synth(rp, { text: `${TEXT} Hai.` });
  assert.equal(emu.jobs[0]!.policy?.lowPriority, true);
  assert.equal(emu.jobs[1]!.policy?.lowPriority, undefined);
  assert.ok(emu.jobs[0]!.policy?.ttl && emu.jobs[0]!.policy.executionTimeout, 'the rest of the policy is kept');
});

/** A server that records every request: proof that nothing reached it. */
async function target(): Promise<{ server: StartedServer; hits: string[] }> {
  const hits: string[] = [];
  const server = await startHttpServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('internal secret');
  });
  extraServers.push(server);
  return { server, hits };
}

test('a redirect to an unlisted local address is refused and no request reaches it', async () => {
  const inside = await target();
  const port = inside.server.port;
  for (const location of [`https://127.0.0.1:${port}/secret`, `http://127.0.0.1:${port}/secret`, `https://localhost:${port}/secret`]) {
    const { emu, rp } = await setup({ outputGeneration: 2, download: () => ({ kind: 'redirect', location }) });
    // Only the emulator's own host:port is listed, not the other port on 127.0.0.1.
    const listed = new RunPodBackend({
      apiKey: emu.apiKey,
      endpointId: emu.endpointId,
      baseUrl: emu.baseUrl,
      refNameTemplate: 'sample/{voice}.wav',
      executionTimeoutMs: 10_000,
      retryBaseMs: 5,
      backoffBaseMs: 2,
      workerHosts: [new URL(emu.origin).host],
    });
    const err = await failure(synth(listed));
    assert.equal(err.code, 'unsafe_worker_url', `${location}: ${err.message}`);
    assert.match(err.message, /WORKER_DOWNLOAD_HOSTS/);
    assert.equal(emu.jobs.length, 1, 'a refused link is permanent: no re-submission');
    assert.equal(emu.requests.count('files'), 1, 'the listed hop itself was fetched');
    void rp; // the default backend lists all of 127.0.0.1; this test needs the narrower list
    await emu.close();
    emulator = undefined;
  }
  assert.deepEqual(inside.hits, [], 'nothing reached the internal server');
});

test('a confirmation_url at a metadata address is not sent; the audio is still used', async () => {
  for (const confirmation of ['http://169.254.169.254/latest/meta-data/', 'https://169.254.169.254/latest/meta-data/', 'https://[fd00:ec2::254]/x']) {
    const sink = logSink();
    const { emu, rp } = await setup(
      { outputGeneration: 2, outputOverride: (o) => ({ ...o, confirmation_url: confirmation }) },
      { logger: sink.logger },
    );
    const result = await synth(rp);
    assert.ok(decodeWavMono(result.wav).samples.length > 0);
    assert.equal(emu.jobs[0]!.confirmed, false, 'the real confirmation URL was not used either');
    const warn = sink.lines().find((l) => l['msg'] === 'worker download confirmation not sent');
    assert.ok(warn && String(warn['err']).includes('refused'), `${confirmation}: ${JSON.stringify(sink.lines())}`);
    await emu.close();
    emulator = undefined;
  }
});

test('a download_url over plain http to a host not listed is refused', async () => {
  const { emu, rp } = await setup({ outputGeneration: 2, outputOverride: (o) => ({ ...o, download_url: 'http://audio.example.com/out.wav' }) });
  const err = await failure(synth(rp));
  assert.equal(err.code, 'unsafe_worker_url');
  assert.match(err.message, /http/);
  assert.equal(emu.jobs.length, 1);
});

test('a 200 MiB download is aborted past MAX_AUDIO_BYTES; the server could only push a little past the cap', async () => {
  const cap = 2 * 1024 * 1024;
  for (const declareLength of [false, true]) {
    const { emu, rp } = await setup(
      { outputGeneration: 2, download: () => ({ kind: 'huge', bytes: 200 * 1024 * 1024, declareLength }) },
      { maxAudioBytes: cap },
    );
    const err = await failure(synth(rp));
    assert.equal(err.code, 'audio_too_large');
    assert.match(err.message, /MAX_AUDIO_BYTES/);
    assert.equal(emu.jobs.length, 1, 'too large is permanent');
    assert.equal(emu.requests.count('files'), 1);
    // What the server managed to write: what we read (≤ cap) plus the socket buffers, not the 200 MiB.
    const slack = 8 * 1024 * 1024;
    assert.ok(emu.downloadBytesSent < cap + slack, `declareLength=${declareLength}: server wrote ${emu.downloadBytesSent} bytes`);
    await emu.close();
    emulator = undefined;
  }
});

test('inline audio (generation 1) over MAX_AUDIO_BYTES is refused, and the status body itself is capped', async () => {
  const { emu, rp } = await setup({}, { maxAudioBytes: 64 * 1024 });
  // A long text makes a WAV over 64 KiB; its base64 makes the /status body over the JSON cap too.
  const err = await failure(synth(rp, { text: `${TEXT} ${TEXT} ${TEXT} ${TEXT}` }));
  assert.ok(err.code === 'response_too_large' || err.code === 'audio_too_large', err.code);
  assert.equal(emu.jobs.length, 1);
});

test('the worker waiting for a download confirmation is noticed: one warning per backend, with the fix', async () => {
  const sink = logSink();
  const { rp } = await setup({ outputGeneration: 2 }, { logger: sink.logger });
  await synth(rp);
  await synth(rp, { text: `${TEXT} Hai.` });
  const warnings = sink.lines().filter((l) => String(l['msg']).includes('DOWNLOAD_CONFIRMATION_TIMEOUT=0'));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!['level'], 40);
});

test('…also from the execution time alone, when the output does not say `confirmed`', async () => {
  const sink = logSink();
  const { rp } = await setup(
    { outputGeneration: 2, jobTimeMs: () => 30, confirmationWaitMs: 400, outputOverride: ({ confirmed: _drop, ...o }) => o },
    { logger: sink.logger, confirmationWaitWarnMs: 300 },
  );
  await synth(rp);
  assert.equal(sink.lines().filter((l) => String(l['msg']).includes('DOWNLOAD_CONFIRMATION_TIMEOUT=0')).length, 1);
  await emulator?.close();
  emulator = undefined;
  // Without the wait there is nothing to say.
  const quiet = logSink();
  const { rp: rp2 } = await setup(
    { outputGeneration: 2, jobTimeMs: () => 30, outputOverride: ({ confirmed: _drop, ...o }) => o },
    { logger: quiet.logger, confirmationWaitWarnMs: 300 },
  );
  await synth(rp2);
  assert.equal(quiet.lines().filter((l) => String(l['msg']).includes('DOWNLOAD_CONFIRMATION_TIMEOUT=0')).length, 0);
});

test('address rules: private, loopback, link-local, unspecified, mapped and metadata addresses are not public', () => {
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.100.100.200', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '224.0.0.1']) {
    assert.equal(isPublicAddress(ip), false, ip);
  }
  for (const ip of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(ip), true, ip);
  assert.equal(isPublicAddress('not-an-ip'), false);
  const hosts = parseHostList(' 127.0.0.1:8080, Files.Example.com ,');
  assert.deepEqual(hosts, ['127.0.0.1:8080', 'files.example.com']);
  assert.equal(isListedHost(new URL('http://127.0.0.1:8080/x'), hosts), true);
  assert.equal(isListedHost(new URL('http://127.0.0.1:8081/x'), hosts), false);
  assert.equal(isListedHost(new URL('https://files.example.com:9443/x'), hosts), true, 'a host without port matches any port');
});

test('a hostname is judged by every address it resolves to, inside the request\'s own lookup (no rebinding window)', async (t) => {
  const inside = await target();
  const answers: Record<string, dns.LookupAddress[]> = {
    'rebind.example': [{ address: '127.0.0.1', family: 4 }],
    'mixed.example': [
      { address: '8.8.8.8', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ],
  };
  const lookups: string[] = [];
  const real = dns.lookup;
  // The only resolver the guard uses; replaced so that no real DNS is needed.
  t.mock.method(dns, 'lookup', ((host: string, options: unknown, cb: (e: Error | null, a: dns.LookupAddress[]) => void) => {
    lookups.push(host);
    const list = answers[host];
    if (!list) return (real as unknown as (h: string, o: unknown, c: unknown) => void)(host, options, cb);
    cb(null, list);
  }) as unknown as typeof dns.lookup);
  for (const host of Object.keys(answers)) {
    await assert.rejects(
      workerRequest(`https://${host}:${inside.server.port}/x`, { method: 'GET', timeoutMs: 5_000, what: 'download_url' }, { allowedHosts: [], maxBytes: 1024 }),
      (err: NarratorError) => err.code === 'unsafe_worker_url' && /resolves to a private or local address/.test(err.message),
    );
  }
  assert.deepEqual(lookups, ['rebind.example', 'mixed.example'], 'resolved once each, by the request itself');
  assert.deepEqual(inside.hits, []);
});
