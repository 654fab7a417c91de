/**
 * `npm run start:sharded`: runs the bot as several gateway shards, one child process each, with discord.js's
 * ShardingManager. Each child runs src/index.ts (TypeScript through tsx), which reads its shard ids from the
 * environment the manager sets.
 *
 * When to use it: Discord requires sharding from 2500 servers on (login fails with "sharding required"), and
 * recommends it earlier when the gateway suggests more than one shard (`totalShards: 'auto'` asks it). Below
 * that, `npm start` is simpler and uses less memory. Each server's voice playback lives in the shard that owns
 * that server; what shards share — settings, the usage ledger and its budgets, the persisted queue — is in the
 * database (DATABASE_URL: Postgres to scale out over machines; one SQLite file also works for shards on one
 * machine). The manager opens it once before spawning, so a bad URL, an unwritable folder or a newer schema is one
 * line and exit 2 here (not N shards failing), and the migrations run once rather than racing in every shard.
 *
 * Shutdown: SIGINT/SIGTERM are forwarded to every shard, which shuts down gracefully (its own 10 s limit), and the
 * manager exits only once they have (`npm run start:sharded` execs this process, so npm forwards the signal here
 * and waits for it); a shard that exits with code 2 (bad token or configuration) stops the whole manager instead
 * of respawning forever.
 */
import { REST, Routes, ShardingManager } from 'discord.js';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfigOrExit } from './services/config.js';
import { isNarratorError } from './services/errors.js';
import { createLogger } from './services/log.js';
import { openStorage } from './services/storage/index.js';

const SHARD_EXIT_WAIT_MS = 12_000;

async function main(): Promise<void> {
  const config = await loadConfigOrExit();
  if (!config.discord.token) {
    process.stderr.write('DISCORD_TOKEN is not set. Run `npm start` once to see how to configure the bot.\n');
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  try {
    const storage = await openStorage(config.databaseUrl, { logger });
    await storage.close();
  } catch (err) {
    const why = isNarratorError(err) || err instanceof Error ? err.message : String(err);
    process.stderr.write(`Could not open the database (DATABASE_URL): ${why.split('\n')[0]!.replace(/(:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@')}\n`);
    process.exit(2);
  }
  let totalShards: number;
  try {
    totalShards = await recommendedShards(config.discord.apiBaseUrl, config.discord.token);
  } catch (err) {
    if ((err as { status?: number }).status === 401) {
      process.stderr.write('Discord rejected DISCORD_TOKEN (invalid token). Copy the bot token again and update .env.\n');
      process.exit(2);
    }
    throw err;
  }
  const manager = new ShardingManager(fileURLToPath(new URL('./index.ts', import.meta.url)), {
    token: config.discord.token,
    totalShards,
    respawn: true,
    execArgv: ['--import', 'tsx'],
  });
  manager.on('shardCreate', (shard) => {
    logger.info({ shard: shard.id }, 'shard started');
    shard.on('death', (child) => {
      const code = 'exitCode' in child ? child.exitCode : null;
      if (stopping) logger.info({ shard: shard.id, code }, 'shard stopped');
      else logger.warn({ shard: shard.id, code }, 'shard exited');
      if (code === 2) {
        logger.fatal('a shard could not start with this configuration (see its message above); stopping');
        void stopAll(2);
      }
    });
  });

  let stopping = false;
  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    manager.respawn = false;
    const exits = [...manager.shards.values()].map(
      (shard) =>
        new Promise<void>((resolve) => {
          const child = shard.process;
          if (!child || child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, SHARD_EXIT_WAIT_MS).unref())]);
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  await manager.spawn();
  logger.info({ shards: manager.totalShards }, 'all shards spawned');
}

/**
 * Discord's recommended shard count (GET /gateway/bot), asked through DISCORD_API_BASE_URL. discord.js's own
 * `totalShards: 'auto'` always asks discord.com directly, ignoring a configured REST proxy.
 */
async function recommendedShards(api: string, token: string): Promise<number> {
  const body = await new REST({ api }).setToken(token).get(Routes.gatewayBot());
  return z.object({ shards: z.number().int().min(1) }).parse(body).shards;
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
