/**
 * `npm run deploy-commands` (scripts/deploy-commands.ts) in a child process against the fake Discord's REST API:
 * guild-scoped with DISCORD_GUILD_ID, global without, Discord's own validation passes, and missing settings or
 * a rejected token end with a clear message and exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeDiscord } from './support/fakeDiscord/index.js';

const SCRIPT = fileURLToPath(new URL('../scripts/deploy-commands.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

async function deploy(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = await mkdtemp(join(tmpdir(), 'narrator-deploy-'));
  try {
    return await new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', TSX, SCRIPT], {
        cwd, // no developer .env here
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

describe('deploy-commands', { concurrency: 4 }, () => {
  let fake: FakeDiscord;
  let guildId: string;
  before(async () => {
    fake = await FakeDiscord.start();
    guildId = fake.createGuild({ name: 'Dev' }).id;
  });
  after(() => fake.close());

  test('registers the thirteen slash commands and the Narrate message command in one server when DISCORD_GUILD_ID is set, and globally without it', async () => {
    const base = { DISCORD_TOKEN: fake.token, DISCORD_CLIENT_ID: fake.applicationId, DISCORD_API_BASE_URL: fake.restUrl };
    const guildRun = await deploy({ ...base, DISCORD_GUILD_ID: guildId });
    assert.equal(guildRun.code, 0, guildRun.stderr);
    assert.match(guildRun.stdout, new RegExp(`Registered 14 commands in server ${guildId}: /narrate /stop /skip /queue /leave /voices /pause /resume /status /settings /voice /usage /dictionary "Narrate" \\(message\\)`));
    const globalRun = await deploy(base);
    assert.equal(globalRun.code, 0, globalRun.stderr);
    assert.match(globalRun.stdout, /Registered 14 global commands/);
    const registered = fake.registeredCommands;
    assert.equal(registered.filter((c) => c.guild_id === guildId).length, 14);
    assert.equal(registered.filter((c) => c.guild_id === undefined || c.guild_id === null).length, 14);
    const narrate = registered.find((c) => c.name === 'narrate');
    assert.deepEqual(narrate?.name_localizations, { vi: 'đọc' });
    // Only /settings is hidden from members without Manage Server; /usage and /dictionary check their admin parts at run time.
    const permissions = Object.fromEntries(registered.filter((c) => c.guild_id === guildId).map((c) => [c.name, c.default_member_permissions]));
    assert.equal(permissions.settings, '32');
    assert.equal(permissions.usage, null);
    assert.equal(permissions.dictionary, null);
    assert.deepEqual(fake.problems, []);
  });

  test('missing DISCORD_CLIENT_ID / DISCORD_TOKEN: says which and where to find them, exit 2', async () => {
    const run = await deploy({ DISCORD_TOKEN: fake.token, DISCORD_API_BASE_URL: fake.restUrl });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DISCORD_CLIENT_ID \(the application id\) is not set/);
    const none = await deploy({ DISCORD_API_BASE_URL: fake.restUrl });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /DISCORD_TOKEN \(the bot token\) and DISCORD_CLIENT_ID \(the application id\) are not set/);
  });

  test('a token Discord rejects: exit 2 with a clear message, the token never printed', async () => {
    const token = 'wrong-token-value-123';
    const run = await deploy({ DISCORD_TOKEN: token, DISCORD_CLIENT_ID: fake.applicationId, DISCORD_API_BASE_URL: fake.restUrl });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Discord rejected DISCORD_TOKEN \(401\)/);
    assert.ok(!run.stderr.includes(token) && !run.stdout.includes(token));
  });
});
