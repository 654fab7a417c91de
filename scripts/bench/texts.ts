/**
 * Benchmark texts, all made from the real Vietnamese story of the tests.
 *
 * Longer texts repeat the story, but every repetition marks each of its chunks ("Lần 7, … lần 7."): identical chunks
 * would be merged into one job by the engine's single-flight (or served by a cache), and the bench would then
 * measure fewer jobs than it claims. A mark at both ends keeps even the pieces of a split long sentence distinct.
 * Every builder re-chunks what it built with the engine's own `prepareText` and throws if the chunk count or the
 * distinctness is not what was asked for, so a change in the chunker cannot silently change what is measured.
 * Texts of an exact chunk count are built against the engine's count: its short opening may cut a text's long first
 * piece in two, so such a piece is skipped.
 */
import { prepareText, type Chunk } from '../../src/services/text/index.js';
import { fakeSpeechSeconds } from '../../test/support/fakeVoice.js';
import { VIETNAMESE_STORY } from '../../test/support/texts.js';

export { VIETNAMESE_STORY };

type Piece = Pick<Chunk, 'text' | 'breakBefore'>;

const STORY_CHUNKS: readonly Piece[] = prepareText(VIETNAMESE_STORY).chunks;

/**
 * The story's chunks; variant 0 is the story itself, variant k ≥ 1 has every chunk marked with k. The first chunk
 * starts a paragraph, so that a repetition does not run on from the previous one's last line.
 */
export function storyChunks(variant: number): Piece[] {
  const mark = (text: string): string => (variant === 0 ? text : `Lần ${variant}, ${text.replace(/([.!?…”"]*)$/u, ` lần ${variant}$1`)}`);
  return STORY_CHUNKS.map((c, i) => ({ text: mark(c.text), breakBefore: i === 0 ? 'paragraph' : c.breakBefore }));
}

/** Joins pieces back into text with the breaks the chunker will find again (nothing before the first). */
export function textOf(pieces: readonly Piece[]): string {
  return pieces.map((p, i) => (i === 0 ? '' : p.breakBefore === 'paragraph' ? '\n\n' : ' ') + p.text).join('');
}

/** Story pieces from `firstVariant` on, as many as `enough` asks for. */
function collect(firstVariant: number, enough: (taken: readonly Piece[], next: Piece) => boolean): Piece[] {
  const taken: Piece[] = [];
  for (let v = firstVariant; ; v++) {
    for (const piece of storyChunks(v)) {
      if (enough(taken, piece)) return taken;
      taken.push(piece);
    }
  }
}

/** Story pieces from `firstVariant` on, one at a time, never the same twice. */
function* piecesFrom(firstVariant: number): Generator<Piece> {
  for (let v = firstVariant; ; v++) yield* storyChunks(v);
}

/**
 * Pieces taken from `source` until the engine cuts their text into exactly `n` chunks. The engine may cut a text's
 * long first piece short (the short opening), so a piece that would overshoot is skipped (and never used again).
 */
function piecesForChunks(n: number, source: Iterator<Piece>): Piece[] {
  const taken: Piece[] = [];
  for (let tries = 0; tries < 10_000; tries++) {
    const next = source.next();
    if (next.done) break;
    const count = prepareText(textOf([...taken, next.value])).chunks.length;
    if (count > n) continue;
    taken.push(next.value);
    if (count === n) return taken;
  }
  throw new Error(`bench: could not build a text of ${n} chunks`);
}

/** A text the engine cuts into exactly `n` distinct chunks. */
export function textWithChunks(n: number, firstVariant = 1): string {
  const text = textOf(piecesForChunks(n, piecesFrom(firstVariant)));
  checkChunks([text], [n]);
  return text;
}

/** A text of at least `seconds` of narration (fake voice at `speed`, with the stitcher's pauses), distinct chunks. */
export function textForSeconds(seconds: number, speed: number, firstVariant = 1): string {
  let estimate = 0;
  const text = textOf(
    collect(firstVariant, (_, next) => {
      if (estimate >= seconds) return true;
      estimate += fakeSpeechSeconds(next.text, speed) + 0.1 + (next.breakBefore === 'paragraph' ? 0.6 : 0.25);
      return false;
    }),
  );
  checkChunks([text]);
  return text;
}

/** `count` short texts of `chunksOf(i)` chunks each, no chunk shared by any two. */
export function shortTexts(count: number, chunksOf: (i: number) => number, firstVariant = 1): string[] {
  const source = piecesFrom(firstVariant);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) texts.push(textOf(piecesForChunks(chunksOf(i), source)));
  checkChunks(texts, texts.map((_, i) => chunksOf(i)));
  return texts;
}

/**
 * Narrated before measuring, to open connections and warm the JIT along every path a long narration takes (several
 * rounds of jobs, pauses of both kinds). Variants from 900 on are kept for it, so its chunks never meet a measured one.
 */
export const WARM_UP_TEXT = textWithChunks(8, 900);

/** Throws unless every text has the expected chunk count and no chunk text occurs twice across all of them. */
export function checkChunks(texts: readonly string[], expected?: readonly number[]): void {
  const seen = new Set<string>();
  texts.forEach((text, i) => {
    const { chunks } = prepareText(text);
    const want = expected?.[i];
    if (want !== undefined && chunks.length !== want) throw new Error(`bench text ${i}: expected ${want} chunks, the engine made ${chunks.length}`);
    for (const c of chunks) {
      if (seen.has(c.text)) throw new Error(`bench texts repeat a chunk (single-flight would merge it): ${c.text.slice(0, 60)}`);
      seen.add(c.text);
    }
  });
}
