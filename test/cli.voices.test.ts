/**
 * The `narrate` CLI with a multi-voice script (issue 11, part 4), as a user runs it (a child process) against the
 * RunPod emulator: `--voices-map` names the aliases, each job carries the `ref_name` of its line in text order, and
 * a malformed map, a map to an unknown voice or an unknown tag exit 2 with a clear reason and no job.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { runNarrateCli, type ScriptRun } from './support/runScript.js';

const VOICES = ['narrator', 'male_north_2', 'female_south'];
const SCRIPT = [
  'Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng khắp phố.',
  '[Minh] Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà! [lan] Em sẽ chờ anh ở đây thêm một lúc nữa nhé.',
  'Minh: Mai anh sẽ quay lại đây đúng giờ này, em đừng lo lắng gì cả.',
  '[narrator] Và rồi cả hai cùng im lặng nhìn nhau dưới ánh đèn vàng.',
].join('\n');

let dir: string;
let emu: RunPodEmulator;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'narrator-cli-voices-'));
  emu = await startRunPodEmulator({ workers: 3, jobTimeMs: () => 40, voices: VOICES });
});
after(async () => {
  assert.deepEqual(emu.activeJobs().map((j) => j.status), [], 'no job left queued or running');
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

function narrate(args: string[]): Promise<ScriptRun> {
  return runNarrateCli(dir, args, {
    RUNPOD_API_KEY: emu.apiKey,
    RUNPOD_ENDPOINT_ID: emu.endpointId,
    RUNPOD_BASE_URL: emu.baseUrl,
    TTS_VOICES: VOICES.join(','),
    // One job at a time: the emulator receives them in the order they were started (text order).
    MAX_CONCURRENT_JOBS: '1',
  });
}

test('--voices-map: each job carries the ref_name of its line, in text order, and the WAV is written', async () => {
  const input = path.join(dir, 'script.txt');
  await writeFile(input, SCRIPT);
  const out = path.join(dir, 'script.wav');
  const run = await narrate(['--file', input, '--voices-map', ' Minh = male_north_2 ,[Lan]=female_south', '--out', out, '--json', '--no-cache']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
  assert.equal(result.chunks, 5);
  const sent = [...emu.jobs].sort((a, b) => a.submittedAt - b.submittedAt).map((j) => [String(j.input['ref_name']), String(j.input['text'])]);
  assert.deepEqual(sent, [
    ['sample/narrator.wav', 'Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng khắp phố.'],
    ['sample/male_north_2.wav', 'Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà!'],
    ['sample/female_south.wav', 'Em sẽ chờ anh ở đây thêm một lúc nữa nhé.'],
    ['sample/male_north_2.wav', 'Mai anh sẽ quay lại đây đúng giờ này, em đừng lo lắng gì cả.'],
    ['sample/narrator.wav', 'Và rồi cả hai cùng im lặng nhìn nhau dưới ánh đèn vàng.'],
  ]);
});

test('a malformed map, a map to an unknown voice, an unknown tag: exit 2 with the reason, and no job', async () => {
  const before = emu.jobs.length;
  const cases: [string[], RegExp][] = [
    [[SCRIPT, '--voices-map', 'minh'], /--voices-map: "minh" is not ALIAS=VOICE/],
    [[SCRIPT, '--voices-map', 'minh=male_north_2,,lan=female_south'], /--voices-map: "" is not ALIAS=VOICE/],
    [[SCRIPT, '--voices-map', 'bad alias=male_north_2'], /--voices-map: "bad alias=male_north_2" is not ALIAS=VOICE/],
    [[SCRIPT, '--voices-map', 'minh=male_north_2,lan=ghost'], /--voices-map: lan=ghost: unknown voice "ghost"\. Available: narrator, male_north_2, female_south/],
    [[SCRIPT, '--voices-map', 'minh=male_north_2'], /Unknown voice tag \[lan\]\. Known names: minh, narrator, male_north_2, female_south/],
    [[SCRIPT], /Unknown voice tag \[Minh\]/],
  ];
  const runs = await Promise.all(cases.map(([args]) => narrate(args)));
  for (const [i, [args, reason]] of cases.entries()) {
    const run = runs[i]!;
    assert.equal(run.code, 2, `${args.slice(1).join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, reason);
    assert.equal(run.stdout, '');
  }
  assert.equal(emu.jobs.length, before, 'no job submitted');
});
