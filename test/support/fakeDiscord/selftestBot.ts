/**
 * A deliberately tiny discord.js bot that proves the fake Discord end to end in the self-test: it registers
 * `/tone`, answers autocomplete for its `label` option, and on `/tone` defers, joins the caller's voice channel,
 * plays a sine as StreamType.Raw, then edits the reply with the same tone as a WAV attachment. On SIGTERM it
 * leaves voice, logs out and exits 0. Run as a child process so it gets its own NODE_EXTRA_CA_CERTS:
 *   node --import tsx test/support/fakeDiscord/selftestBot.ts   (env FAKE_DISCORD_API, FAKE_DISCORD_TOKEN)
 */
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  getVoiceConnections,
  joinVoiceChannel,
} from '@discordjs/voice';
import { AttachmentBuilder, Client, Events, GatewayIntentBits, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ChatInputCommandInteraction, VoiceState } from 'discord.js';
import { z } from 'zod';
import { sinePcm, wavFile } from './selftestTone.js';

const env = z
  .object({ FAKE_DISCORD_API: z.url(), FAKE_DISCORD_TOKEN: z.string().min(1) })
  .parse(process.env);

const LABELS = ['alpha', 'beta', 'gamma'];

const tone = new SlashCommandBuilder()
  .setName('tone')
  .setDescription('Plays a sine tone in your voice channel')
  .addNumberOption((o) => o.setName('frequency').setDescription('Frequency in Hz').setRequired(true).setMinValue(20).setMaxValue(20_000))
  .addNumberOption((o) => o.setName('seconds').setDescription('Duration in seconds').setRequired(true).setMinValue(0.1).setMaxValue(10))
  .addStringOption((o) => o.setName('label').setDescription('Name of the attached file').setAutocomplete(true));

const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
  rest: { api: env.FAKE_DISCORD_API },
});

function log(message: string): void {
  process.stderr.write(`[selftest-bot] ${message}\n`);
}

async function onAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
  const typed = interaction.options.getFocused();
  await interaction.respond(LABELS.filter((l) => l.startsWith(typed)).map((l) => ({ name: l, value: l })));
}

async function onTone(interaction: ChatInputCommandInteraction<'cached'>): Promise<void> {
  await interaction.deferReply();
  const channel = interaction.member.voice.channel;
  if (!channel) {
    await interaction.editReply('Join a voice channel first.');
    return;
  }
  const frequency = interaction.options.getNumber('frequency', true);
  const seconds = interaction.options.getNumber('seconds', true);
  const label = interaction.options.getString('label') ?? 'tone';
  const pcm = sinePcm(frequency, seconds);

  const connection = joinVoiceChannel({ channelId: channel.id, guildId: channel.guild.id, adapterCreator: channel.guild.voiceAdapterCreator });
  await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
  const player = createAudioPlayer();
  connection.subscribe(player);
  player.play(createAudioResource(Readable.from([pcm]), { inputType: StreamType.Raw }));
  await entersState(player, AudioPlayerStatus.Playing, 5_000);
  await entersState(player, AudioPlayerStatus.Idle, seconds * 1000 + 5_000);

  await interaction.editReply({
    content: `Played ${frequency} Hz for ${seconds} s.`,
    files: [new AttachmentBuilder(wavFile(pcm), { name: `${label}.wav` })],
  });
}

client.once(Events.ClientReady, (ready) => {
  ready.application.commands
    .set([tone.toJSON()])
    .then(() => log('ready, /tone registered'))
    .catch((err: unknown) => log(`command registration failed: ${String(err)}`));
});

client.on(Events.InteractionCreate, (interaction) => {
  const handled = interaction.isAutocomplete()
    ? onAutocomplete(interaction)
    : interaction.isChatInputCommand() && interaction.inCachedGuild()
      ? onTone(interaction)
      : Promise.resolve();
  handled.catch((err: unknown) => log(`interaction failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
});

client.on(Events.Error, (err) => log(`client error: ${err.message}`));

/** Resolves when Discord confirms the bot is out of voice in every guild (or after `ms`). */
function leftVoice(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      client.off(Events.VoiceStateUpdate, onState);
      resolve();
    }
    function onState(_old: VoiceState, next: VoiceState): void {
      if (next.id === client.user?.id && next.channelId === null) done();
    }
    client.on(Events.VoiceStateUpdate, onState);
  });
}

/** Leaves voice (and waits for Discord to confirm it), then logs out: what a clean shutdown looks like on the wire. */
async function shutdown(): Promise<void> {
  const connections = [...getVoiceConnections().values()];
  const confirmed = connections.length > 0 ? leftVoice(2_000) : Promise.resolve();
  for (const connection of connections) connection.destroy();
  await confirmed;
  await client.destroy();
  process.exit(0);
}

process.once('SIGTERM', () => {
  shutdown().catch((err: unknown) => {
    log(`shutdown failed: ${String(err)}`);
    process.exit(1);
  });
});

await client.login(env.FAKE_DISCORD_TOKEN);
