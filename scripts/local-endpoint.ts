/**
 * A local stand-in for a RunPod serverless endpoint, speaking real (espeak-ng) Vietnamese: try the bot's RunPod
 * code path — /run, long-poll, cancel, both output generations — with no GPU and no account.
 *
 *   npm run local-endpoint -- [--port 8787] [--workers 3] [--job-ms 1500] [--cold-ms 0] [--generation 1|2]
 *
 * It prints the three variables to put in `.env` (or the environment of `npm start` / `npm run narrate`).
 * It runs the same emulator the integration tests use (test/support/runpodEmulator.ts). The emulator asks for audio
 * synchronously when a job starts, so each job's espeak run (~0.3 s) happens in a short child process; that blocks
 * this dev server for a moment per job, which is fine here and would not be for a real service.
 * Ctrl-C / SIGTERM close the server once, however many signals arrive.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { espeakRate, espeakVoice } from '../src/services/tts/local.js';
import { startRunPodEmulator } from '../test/support/runpodEmulator.js';

const SPEAK = `
import ESpeakNg from 'espeak-ng';
const [voice, rate, text] = process.argv.slice(1);
const m = await ESpeakNg({ arguments: ['-v', voice, '-s', rate, '-w', '/out.wav', text], print() {}, printErr() {} });
process.stdout.write(m.FS.readFile('/out.wav'));
`;

function espeakWav(text: string, speed: number, voice: string): Uint8Array {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SPEAK, espeakVoice(voice), String(espeakRate(speed)), text], {
    maxBuffer: 64 * 1024 * 1024,
    cwd: new URL('..', import.meta.url),
  });
  return new Uint8Array(out);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    workers: { type: 'string', default: '3' },
    'job-ms': { type: 'string', default: '1500' },
    'cold-ms': { type: 'string', default: '0' },
    generation: { type: 'string', default: '1' },
  },
});

const num = (name: keyof typeof values, min: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`local-endpoint: --${name} must be a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
};

const generation = num('generation', 1);
if (generation !== 1 && generation !== 2) {
  process.stderr.write('local-endpoint: --generation must be 1 or 2\n');
  process.exit(2);
}
const jobMs = num('job-ms', 0);
const emulator = await startRunPodEmulator({
  port: num('port', 0),
  workers: num('workers', 1),
  coldStartMs: num('cold-ms', 0),
  outputGeneration: generation,
  jobTimeMs: () => jobMs,
  voices: ['narrator', 'female', 'male'],
  synth: (text, speed) => espeakWav(text, speed, 'narrator'),
});

process.stdout.write(
  [
    `Local RunPod endpoint listening (${num('workers', 1)} workers, ${jobMs} ms per job, output generation ${generation}).`,
    'Use it with:',
    `  RUNPOD_BASE_URL=${emulator.baseUrl}`,
    `  RUNPOD_ENDPOINT_ID=${emulator.endpointId}`,
    `  RUNPOD_API_KEY=${emulator.apiKey}`,
    'Voices: narrator, female, male (REF_NAME_TEMPLATE=sample/{voice}.wav). Ctrl-C to stop.',
    '',
  ].join('\n'),
);

// `process.on`, not `once`: a second Ctrl-C (or npm forwarding the terminal's SIGINT again) must not find node's
// default handler and kill the process in the middle of closing the server; it only waits for the same close.
let stopping: Promise<void> | undefined;
const stop = () => {
  // A stand-in endpoint going away ends its jobs with it: nothing is billed here, so unlike a test it may stop mid-job.
  stopping ??= emulator.close({ allowActive: true }).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`local-endpoint: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
