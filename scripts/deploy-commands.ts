/**
 * Registers the bot's slash commands with Discord (run once, and again after a command changes):
 *
 *   npm run deploy-commands
 *
 * With DISCORD_GUILD_ID set the commands go to that one server and appear at once (good while developing);
 * without it they are global and may take up to an hour to show everywhere. Needs DISCORD_TOKEN and
 * DISCORD_CLIENT_ID; honours DISCORD_API_BASE_URL (a REST proxy, or the fake Discord in tests).
 * Registration is a separate step, not a side effect of starting the bot, so restarts cost no API calls.
 * Exit codes: 0 done, 2 missing/invalid configuration, 1 Discord refused or could not be reached.
 */
// discord.js re-exports @discordjs/rest and the API routes, so no extra dependency is needed.
import { ApplicationCommandType, REST, Routes } from 'discord.js';
import { commandDefinitions } from '../src/commands/index.js';
import { loadConfigOrExit } from '../src/services/config.js';
import { registerSecret, scrub } from '../src/services/log.js';

async function main(): Promise<void> {
  const config = await loadConfigOrExit();
  const { token, clientId, guildId, apiBaseUrl } = config.discord;
  const missing = [!token && 'DISCORD_TOKEN (the bot token)', !clientId && 'DISCORD_CLIENT_ID (the application id)'].filter(Boolean);
  if (!token || !clientId) {
    process.stderr.write(
      `Cannot register the commands: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set.\n` +
        'Both are on https://discord.com/developers/applications → your application (General Information → Application ID; Bot → Token).\n' +
        'Put them in .env (see .env.example) and run this again.\n',
    );
    process.exit(2);
  }
  registerSecret(token);
  const rest = new REST({ api: apiBaseUrl }).setToken(token);
  const body = commandDefinitions();
  const route = guildId ? Routes.applicationGuildCommands(clientId, guildId) : Routes.applicationCommands(clientId);
  try {
    const result = (await rest.put(route, { body })) as unknown[];
    // Slash commands as typed (/narrate); context-menu commands as their menu shows them ("Narrate" on a message).
    const names = body.map((c) => (c.type === ApplicationCommandType.Message ? `"${c.name}" (message)` : `/${c.name}`)).join(' ');
    process.stdout.write(
      guildId
        ? `Registered ${result.length} commands in server ${guildId}: ${names}\n`
        : `Registered ${result.length} global commands: ${names}\n(global commands can take up to an hour to appear; set DISCORD_GUILD_ID for instant updates while testing)\n`,
    );
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401) {
      process.stderr.write('Discord rejected DISCORD_TOKEN (401). Copy the bot token again and update .env.\n');
      process.exit(2);
    }
    if (status === 403 || status === 404) {
      process.stderr.write(
        `Discord refused (${status}): check DISCORD_CLIENT_ID${guildId ? ', DISCORD_GUILD_ID, and that the bot was invited to that server with the applications.commands scope' : ''}.\n`,
      );
      process.exit(2);
    }
    process.stderr.write(`Could not register the commands: ${scrub(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${scrub(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exit(1);
});
