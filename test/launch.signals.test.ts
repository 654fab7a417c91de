/**
 * The documented ways to run the bot, signalled the way production signals them: SIGTERM to the LAUNCHER — the
 * process `npm start` / `npm run start:sharded` starts (npm itself), and the Dockerfile's CMD run as is (what
 * `docker stop` signals as PID 1) — never to the bot directly. Each must end in the bot's graceful shutdown (its
 * "shut down" log line, the gateway closed normally), the launcher exiting 0 only after the bot, nothing of the
 * process tree left, all within the 10 s Docker allows before SIGKILL.
 *
 * Why: npm runs a script through `sh -c`; SIGTERM to npm is forwarded to that shell, which dies and leaves the bot
 * running, re-parented to init, unless the script `exec`s node. Against the fake Discord, with the offline backend.
 * Each launcher runs in its own process group, so "nothing left" is checked over the whole group in /proc.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { BotProcess, SHUTDOWN_LIMIT_MS, commandDefinitions, pollUntil } from './support/botHarness.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Every setting the bot reads from the environment is set here, so a developer's shell or `.env` cannot decide. */
function launcherEnv(fake: FakeDiscord, cacheDir: string): NodeJS.ProcessEnv {
  const env = fake.childEnv();
  for (const name of Object.keys(env)) {
    if (/^(RUNPOD_|F5_TTS_|TTS_|DISCORD_|npm_)/.test(name)) delete env[name];
  }
  return {
    ...env,
    // `node` in the scripts and in the image's CMD is the project's Node 22, as in the image.
    PATH: [join(ROOT, 'node_modules', '.bin'), env.PATH ?? ''].join(delimiter),
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE_URL: fake.restUrl,
    TTS_BACKEND: 'local',
    TTS_VOICES: 'narrator',
    CACHE_DIR: cacheDir,
    CACHE_MAX_MB: '0',
    LOG_LEVEL: 'info',
  };
}

/** Pids of the live (non-zombie) processes in process group `pgid`, read from /proc. */
async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

/** The Dockerfile's CMD, exec form. */
async function dockerCmd(): Promise<string[]> {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const line = dockerfile.split('\n').findLast((l) => l.startsWith('CMD '));
  assert.ok(line, 'the Dockerfile has a CMD');
  const argv: unknown = JSON.parse(line.slice(4));
  assert.ok(Array.isArray(argv) && argv.every((a) => typeof a === 'string'), 'CMD in exec form (a shell form would put sh in front as PID 1)');
  return argv as string[];
}

/** `launcher`: SIGTERM to the launcher's pid (docker stop, a process manager); `terminal`: Ctrl-C, SIGINT to the whole group. */
type Target = 'launcher' | 'terminal';

const LAUNCHERS: ReadonlyArray<{ name: string; argv: () => Promise<string[]>; target: Target }> = [
  { name: 'npm start', argv: async () => ['npm', 'start'], target: 'launcher' },
  { name: 'npm run start:sharded', argv: async () => ['npm', 'run', 'start:sharded'], target: 'launcher' },
  { name: "the Dockerfile's CMD", argv: dockerCmd, target: 'launcher' },
  // The terminal signals every process of the group and npm forwards it again: the bot gets SIGINT twice.
  { name: 'npm start, Ctrl-C in its terminal', argv: async () => ['npm', 'start'], target: 'terminal' },
];

describe('SIGTERM to the launcher reaches the bot', { concurrency: 1 }, () => {
  let fake: FakeDiscord;
  before(async () => {
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
  });
  after(async () => {
    await fake.close();
  });

  for (const launcher of LAUNCHERS) {
    test(`${launcher.name}: ${launcher.target === 'terminal' ? 'SIGINT to the group' : 'SIGTERM to the launcher'}: graceful shutdown, the launcher exits after the bot, nothing left, within 10 s`, async () => {
      const cwd = await mkdtemp(join(tmpdir(), 'narrator-launch-'));
      const [command, ...args] = await launcher.argv();
      const child = spawn(command!, args, {
        cwd: ROOT,
        env: launcherEnv(fake, join(cwd, 'cache')),
        detached: true, // its own process group: the group is the whole tree, for the leftover check
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const launched = new BotProcess(child, cwd);
      const pgid = child.pid!;
      const closesBefore = fake.gatewayCloses.length;
      try {
        await Promise.race([
          pollUntil(() => launched.logs().some((l) => l.msg === 'connected to Discord') || undefined, 90_000, `${launcher.name}: the bot to connect`),
          launched.exited().then(({ code }) => assert.fail(`${launcher.name} exited (${String(code)}) before the bot was ready:\n${launched.tail()}`)),
        ]);
        assert.ok((await groupMembers(pgid)).length >= 1);

        if (launcher.target === 'terminal') process.kill(-pgid, 'SIGINT');
        const exit = await launched.stop(launcher.target === 'terminal' ? 'SIGINT' : 'SIGTERM', SHUTDOWN_LIMIT_MS + 5_000);
        const left = await groupMembers(pgid);
        assert.deepEqual(left, [], `${launcher.name}: processes left running after the launcher exited`);
        assert.equal(exit.code, 0, `${launcher.name} exit ${String(exit.code ?? exit.signal)}:\n${launched.tail()}`);
        assert.ok(exit.ms < SHUTDOWN_LIMIT_MS, `${launcher.name}: ${Math.round(exit.ms)} ms from SIGTERM to exit`);
        const msgs = launched.logs().map((l) => l.msg);
        assert.ok(msgs.includes('shutting down') && msgs.includes('shut down'), `the bot's graceful shutdown ran:\n${launched.tail()}`);
        assert.ok(
          fake.gatewayCloses.slice(closesBefore).some((c) => c.by === 'client' && c.code === 1000),
          `the bot closed its gateway session normally: ${JSON.stringify(fake.gatewayCloses.slice(closesBefore))}`,
        );
        launched.assertNothingEscaped();
      } finally {
        // Whatever happened, nothing of this test's process group outlives it.
        if ((await groupMembers(pgid)).length > 0) process.kill(-pgid, 'SIGKILL');
        await launched.dispose();
      }
    });
  }
});
