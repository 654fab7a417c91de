/**
 * Public entry point of the offline fake Discord used by end-to-end tests (see README.md in this folder).
 */
export { FakeDiscord } from './fakeDiscord.js';
export type {
  FakeAttachment,
  FakeChannel,
  FakeDiscordOptions,
  FakeGuild,
  FakeUser,
  FrameFilter,
  SetPermissionsOptions,
  VoiceSessionInfo,
} from './fakeDiscord.js';
export type { AutocompleteOptions, ClickComponentOptions, InvokeCommandOptions, InvokeMessageCommandOptions } from './interactionFactory.js';
export type { UploadOptions } from './userUploads.js';
export type { Delivery } from './restServer.js';
export type { OptionValue } from './interactionOptions.js';
export { Invocation } from './invocation.js';
export type { RecordedCallback, RecordedRejection, RecordedWrite } from './invocation.js';
export type { VoiceFrame } from './voiceServer.js';
export type { VoiceRequestRecord } from './botVoiceControl.js';
export type { GatewayClose } from './gatewayServer.js';
export type { StoredAttachment } from './messageStore.js';
export type { UploadedFile } from './requestBody.js';
export type { CommandChoice } from './schemas.js';
export type { PermissionName } from './permissions.js';
export type { RestLogEntry } from './restServer.js';
export { CHANNELS, SAMPLE_RATE } from './opusDecoder.js';
export { dominantFrequency, rms, toMono } from './audioAnalysis.js';
