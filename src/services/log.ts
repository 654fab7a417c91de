/**
 * Structured logging (pino) with secrets scrubbed. Every log line passes through one central scrubber (`scrub`, run
 * on the serialized line, so it reaches strings anywhere in the logged object: nested fields, `err.message`, stacks):
 * - registered secrets (API key, token: registered once at start-up) are replaced wherever they appear, so even an
 *   error whose text somehow quotes a key cannot leak it;
 * - credentials inside URLs are replaced whatever their value, since no one registers them: the userinfo part
 *   (`https://user:pass@host` → `https://[redacted]@host`) and the values of query parameters named like a secret
 *   (token, key, secret, password, signature, auth, credential, sig). A URL such as DISCORD_API_BASE_URL can then be
 *   logged as it is.
 * Scrubbing the text rather than known field names is deliberate: the URL may be quoted in an error message from a
 * library we do not control.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

const secrets = new Set<string>();

/** Remember a secret value (API key, token) so that `scrub` and the logger never print it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

const REDACTED = '[redacted]';

/**
 * `scheme://` then an authority holding an `@`: everything up to the authority's last `@` is userinfo. The authority
 * ends at `/ ? #`, whitespace, or a character a URL never holds unencoded (quotes, backslash: the line may be JSON).
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'`\\<>@]*(?:@[^\s/?#"'`\\<>@]*)*@/gi;

/** A query (or fragment) parameter whose name contains a secret-like word; its value runs to the next `&`/`#`. */
const SECRET_PARAM =
  /([?&;#](?:[^\s=&;#"'`\\<>]*?(?:token|key|secret|passw|pwd|signature|auth|credential|session)[^\s=&;#"'`\\<>]*|sig)=)[^\s&;#"'`\\<>]*/gi;

/** Replaces registered secrets and credentials inside URLs in `text` with `[redacted]`. */
export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  if (out.includes('://')) out = out.replace(URL_USERINFO, `$1${REDACTED}@`);
  if (out.includes('=')) out = out.replace(SECRET_PARAM, `$1${REDACTED}`);
  return out;
}

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['apiKey', '*.apiKey', 'token', '*.token', 'headers.authorization', '*.headers.authorization'], censor: REDACTED },
      hooks: {
        streamWrite: (line: string) => scrub(line),
      },
    },
    (destination ?? pino.destination(2)) as pino.DestinationStream,
  );
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
