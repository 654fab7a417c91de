/**
 * Structured logging (pino) with secrets scrubbed. Secrets are registered once at start-up; every log line passes
 * through a hook that replaces their values, so even an error whose text somehow quotes a key cannot leak it.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

const secrets = new Set<string>();

/** Remember a secret value (API key, token) so that `scrub` and the logger never print it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Replaces every registered secret in `text` with `[redacted]`. */
export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['apiKey', '*.apiKey', 'token', '*.token', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
      hooks: {
        streamWrite: (line: string) => scrub(line),
      },
    },
    (destination ?? pino.destination(2)) as pino.DestinationStream,
  );
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
