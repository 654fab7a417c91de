/**
 * Reading an HTTP body from a party we do not trust (the TTS worker, an attachment host) under a ceiling: refused
 * from its Content-Length before a byte is read, else cut off as soon as the bytes counted pass the limit — so a
 * lying or endless sender costs at most `maxBytes` of memory. One reader for both rooms (tts/http.ts and
 * input/download.ts) so the rule cannot drift; each caller says what "too large" means to its users.
 */

/**
 * The body's bytes, at most `maxBytes`. `tooLarge(declaredBytes?)` makes the error thrown for a bigger body: with the
 * declared size when the Content-Length gave it away, without one when the count passed the limit mid-stream.
 */
export async function readBodyBounded(res: Response, maxBytes: number, tooLarge: (declaredBytes?: number) => Error): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      // A failed cancel changes nothing for the caller: the body is refused either way.
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
