/**
 * `npm start`: the bot. Loads the configuration (environment and `.env`), builds the narration engine, logs in,
 * and shuts down gracefully on SIGINT/SIGTERM within a hard 10 s limit (further signals meanwhile are logged, not
 * obeyed). Every launcher runs this file as node's own process — `npm start` through `exec`, the Docker image as
 * PID 1 — so a signal sent to the launcher reaches it (npm forwards SIGINT/SIGTERM to its child and waits for it).
 *
 * Exit codes: 0 after a clean shutdown; 2 when the bot cannot start as configured (no token, invalid token, bad
 * configuration, a storage that cannot be opened: one line saying why) — with a message that says what to do; 1
 * for anything else. Exit 2 is never retried by the sharding manager, so a bad DATABASE_URL is no crash loop.
 * Also the entry each shard runs under `npm run start:sharded` (src/shard.ts): discord.js reads the shard ids
 * from the environment the ShardingManager sets.
 */
import { DiscordjsErrorCodes } from 'discord.js';
import { NarratorBot, describe } from './bot.js';
import { loadConfigOrExit } from './services/config.js';
import { createEngine } from './services/engine.js';
import { isNarratorError } from './services/errors.js';
import { createLogger, scrub } from './services/log.js';
import { openStorage } from './services/storage/index.js';
import type { Storage } from './services/storage/types.js';

/** Shutdown must finish within this, whatever hangs (Docker sends SIGKILL after 10 s by default). */
const HARD_EXIT_MS = 10_000;

const HOW_TO_CONFIGURE = `DISCORD_TOKEN is not set, so the bot cannot log in to Discord.

To run the bot:
  1. Create an application at https://discord.com/developers/applications, add a Bot to it,
     and copy its token (Bot → Reset Token).
  2. Put it in a file named .env in the project folder (see .env.example):
       DISCORD_TOKEN=your-bot-token
       DISCORD_CLIENT_ID=your-application-id
  3. Register the slash commands once:  npm run deploy-commands
  4. Invite the bot with the URL from the README ("Creating the Discord application"), then:  npm start

The narration engine also works without Discord:  npm run narrate -- "Xin chào"
See README.md for everything else (TTS backends, RunPod, Docker, sharding).
`;

const INVALID_TOKEN = `Discord rejected DISCORD_TOKEN (invalid token).
Copy the bot token again from https://discord.com/developers/applications → your application → Bot → Reset Token,
put it in .env as DISCORD_TOKEN=…, and start again. (The application id is not the token.)
`;

async function main(): Promise<void> {
  const config = await loadConfigOrExit('See .env.example for every setting.\n');
  if (!config.discord.token) {
    process.stderr.write(HOW_TO_CONFIGURE);
    process.exit(2);
  }

  const logger = createLogger(config.logLevel);
  // Last-resort nets: log and keep serving (every handler has its own try/catch; these catch library surprises).
  process.on('unhandledRejection', (reason) => logger.error({ err: describe(reason) }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => logger.error({ err: describe(err) }, 'uncaught exception'));

  let engine;
  try {
    engine = createEngine(config, logger);
  } catch (err) {
    if (isNarratorError(err, 'config')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Settings, ledger and the persisted queue. A bad URL, an unwritable folder, a newer schema — or a database that
  // does not answer at start — is one line and exit 2: never narrate without limits, never a crash loop.
  let storage: Storage;
  try {
    storage = await openStorage(config.databaseUrl, { logger });
  } catch (err) {
    const why = isNarratorError(err) ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`Could not open the database (DATABASE_URL): ${scrubUrl(why)}\n`);
    await engine.close().catch(() => undefined);
    process.exit(2);
  }
  logger.info({ storage: storage.engine }, 'storage open');
  const bot = new NarratorBot({ config, engine, logger, storage });

  // A repeated signal is expected, not a user's "hurry up": Ctrl-C in a terminal reaches the whole process group,
  // so under `npm start` the bot gets SIGINT from the terminal and again from npm, which forwards it; a shard gets
  // the terminal's SIGINT and the manager's SIGTERM. Exiting on the second would skip the graceful shutdown every
  // time. The hard limit below still bounds it.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    setTimeout(() => {
      logger.error('shutdown did not finish within 10 s: exiting');
      process.exit(1);
    }, HARD_EXIT_MS).unref();
    bot.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: describe(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // A rejected token can also surface as gateway close 4004 (after /gateway/bot succeeded, e.g. behind a proxy).
  bot.client.on('shardError', (err) => {
    if (/authentication failed/i.test(err.message)) invalidToken();
  });

  logger.info({ backend: engine.backend.kind, voices: config.voices, apiBaseUrl: config.discord.apiBaseUrl }, 'starting');
  try {
    await bot.start();
  } catch (err) {
    if (isInvalidToken(err)) invalidToken();
    logger.fatal({ err: describe(err) }, 'could not connect to Discord');
    // Straight to the terminal, past the logger: scrubbed the same way (a proxy URL may carry credentials).
    process.stderr.write(
      scrub(`Could not connect to Discord at ${config.discord.apiBaseUrl}: ${err instanceof Error ? err.message : String(err)}\n`) +
        'Check the network, or DISCORD_API_BASE_URL if you set it.\n',
    );
    await engine.close().catch(() => undefined);
    await storage.close().catch(() => undefined);
    process.exit(1);
  }
}

/** A database URL's password never reaches the terminal: `postgres://user:secret@host` → `postgres://user:***@host`. */
function scrubUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@').split('\n')[0]!;
}

function isInvalidToken(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown } | null;
  return e?.code === DiscordjsErrorCodes.TokenInvalid || e?.status === 401;
}

function invalidToken(): never {
  process.stderr.write(INVALID_TOKEN);
  process.exit(2);
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
