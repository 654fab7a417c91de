/**
 * zod schemas for everything the bot sends the fake: REST bodies (messages, interaction callbacks, command
 * registrations), gateway frames and voice-gateway frames. They accept what Discord accepts (loose objects: extra
 * fields pass through untouched) and reject what would make Discord answer 400 or close the socket, so a bot that
 * sends a malformed payload fails here the way it would fail in production.
 */
import { z } from 'zod';

export const snowflake = z.string().regex(/^\d{1,20}$/, 'must be a snowflake');

// ---- REST: messages -------------------------------------------------------------------------------------------

/** An entry of a message's `attachments`: an existing attachment's id to keep, or `"N"` naming `files[N]`. */
export const attachmentRef = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  filename: z.string().nullish(),
  description: z.string().nullish(),
  title: z.string().nullish(),
  // Voice messages: the audio's length and its waveform (base64 of ≤ 256 amplitude bytes).
  duration_secs: z.number().nonnegative().nullish(),
  waveform: z.string().nullish(),
});

export const allowedMentions = z.looseObject({
  parse: z.array(z.enum(['users', 'roles', 'everyone'])).optional(),
  users: z.array(snowflake).optional(),
  roles: z.array(snowflake).optional(),
  replied_user: z.boolean().optional(),
});

/** The body of message create/edit (channel messages, interaction responses, webhooks). */
export const messagePayload = z.looseObject({
  content: z.string().nullish(),
  embeds: z.array(z.looseObject({})).nullish(),
  components: z.array(z.looseObject({})).nullish(),
  attachments: z.array(attachmentRef).nullish(),
  flags: z.number().int().nullish(),
  allowed_mentions: allowedMentions.nullish(),
  tts: z.boolean().optional(),
});
export type MessagePayload = z.infer<typeof messagePayload>;

// ---- REST: interaction callbacks --------------------------------------------------------------------------------

export const commandChoice = z.looseObject({
  name: z.string(),
  value: z.union([z.string(), z.number()]),
  name_localizations: z.record(z.string(), z.string()).nullish(),
});
export type CommandChoice = z.infer<typeof commandChoice>;

const flagsOnly = z.looseObject({ flags: z.number().int().nullish() });

export const callbackBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal(1) }),
  z.object({ type: z.literal(4), data: messagePayload }),
  z.object({ type: z.literal(5), data: flagsOnly.optional() }),
  z.object({ type: z.literal(6), data: flagsOnly.optional() }),
  z.object({ type: z.literal(7), data: messagePayload.optional() }),
  z.object({ type: z.literal(8), data: z.object({ choices: z.array(commandChoice) }) }),
  z.object({
    type: z.literal(9),
    data: z.looseObject({ custom_id: z.string(), title: z.string(), components: z.array(z.unknown()) }),
  }),
]);
export type CallbackBody = z.infer<typeof callbackBody>;

// ---- REST: application commands ----------------------------------------------------------------------------------

const localizations = z.record(z.string(), z.string()).nullish();

export const basicOptionDefinition = z.looseObject({
  type: z.number().int().min(3).max(11),
  name: z.string(),
  name_localizations: localizations,
  description: z.string(),
  description_localizations: localizations,
  required: z.boolean().optional(),
  choices: z.array(commandChoice).optional(),
  autocomplete: z.boolean().optional(),
  min_value: z.number().optional(),
  max_value: z.number().optional(),
  min_length: z.number().int().optional(),
  max_length: z.number().int().optional(),
  channel_types: z.array(z.number().int()).optional(),
});
export type BasicOptionDefinition = z.infer<typeof basicOptionDefinition>;

export const subcommandDefinition = z.looseObject({
  type: z.literal(1),
  name: z.string(),
  name_localizations: localizations,
  description: z.string(),
  description_localizations: localizations,
  options: z.array(basicOptionDefinition).optional(),
});
export type SubcommandDefinition = z.infer<typeof subcommandDefinition>;

export const subcommandGroupDefinition = z.looseObject({
  type: z.literal(2),
  name: z.string(),
  name_localizations: localizations,
  description: z.string(),
  description_localizations: localizations,
  options: z.array(subcommandDefinition).optional(),
});
export type SubcommandGroupDefinition = z.infer<typeof subcommandGroupDefinition>;

export const optionDefinition = z.union([subcommandGroupDefinition, subcommandDefinition, basicOptionDefinition]);
export type OptionDefinition = z.infer<typeof optionDefinition>;

export function isSubcommandGroup(option: OptionDefinition): option is SubcommandGroupDefinition {
  return option.type === 2;
}

export function isSubcommand(option: OptionDefinition): option is SubcommandDefinition {
  return option.type === 1;
}

/** A value-carrying option (string, number, user…), i.e. neither a subcommand nor a group. */
export function isBasicOption(option: OptionDefinition): option is BasicOptionDefinition {
  return option.type !== 1 && option.type !== 2;
}

export const commandDefinition = z.looseObject({
  name: z.string(),
  name_localizations: localizations,
  description: z.string().optional(),
  description_localizations: localizations,
  type: z.number().int().min(1).max(4).optional(),
  options: z.array(optionDefinition).optional(),
  default_member_permissions: z.string().nullish(),
  dm_permission: z.boolean().nullish(),
  contexts: z.array(z.number().int()).nullish(),
  integration_types: z.array(z.number().int()).nullish(),
  nsfw: z.boolean().optional(),
});
export type CommandDefinition = z.infer<typeof commandDefinition>;

export const commandList = z.array(commandDefinition);

// ---- Gateway ------------------------------------------------------------------------------------------------------

export const gatewayFrame = z.looseObject({
  op: z.number().int(),
  d: z.unknown().optional(),
  s: z.number().nullish(),
  t: z.string().nullish(),
});

export const identifyData = z.looseObject({
  token: z.string(),
  intents: z.number().int().nonnegative(),
  properties: z.looseObject({ os: z.string(), browser: z.string(), device: z.string() }),
  shard: z.tuple([z.number().int(), z.number().int()]).optional(),
  compress: z.boolean().optional(),
  large_threshold: z.number().optional(),
  presence: z.unknown().optional(),
});

export const resumeData = z.looseObject({
  token: z.string(),
  session_id: z.string(),
  seq: z.number().int().nullable(),
});

export const heartbeatData = z.number().int().nullable();

export const voiceStateUpdateData = z.looseObject({
  guild_id: snowflake,
  channel_id: snowflake.nullable(),
  self_mute: z.boolean(),
  self_deaf: z.boolean(),
});

export const requestGuildMembersData = z.looseObject({
  guild_id: snowflake,
  query: z.string().optional(),
  limit: z.number().int().min(0),
  user_ids: z.union([snowflake, z.array(snowflake)]).optional(),
  presences: z.boolean().optional(),
  nonce: z.string().optional(),
});

// ---- Voice gateway (v8) ---------------------------------------------------------------------------------------------

export const voiceFrame = z.looseObject({
  op: z.number().int(),
  d: z.unknown().optional(),
  seq: z.number().int().optional(),
});

export const voiceIdentifyData = z.looseObject({
  server_id: snowflake,
  user_id: snowflake,
  session_id: z.string(),
  token: z.string(),
  max_dave_protocol_version: z.number().int().optional(),
});

export const selectProtocolData = z.looseObject({
  protocol: z.literal('udp'),
  data: z.looseObject({ address: z.string(), port: z.number().int(), mode: z.string() }),
});

export const voiceHeartbeatData = z.looseObject({ t: z.number(), seq_ack: z.number().int().optional() });

export const speakingData = z.looseObject({
  speaking: z.number().int(),
  delay: z.number().optional(),
  ssrc: z.number().int(),
});

export const voiceResumeData = z.looseObject({
  server_id: snowflake,
  session_id: z.string(),
  token: z.string(),
  seq_ack: z.number().int().optional(),
});
