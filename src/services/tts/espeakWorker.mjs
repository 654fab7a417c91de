/**
 * Worker thread for the offline backend: runs espeak-ng (compiled to WASM) off the main thread, so a CPU-bound
 * synthesis never stalls the event loop (voice playback sends a packet every 20 ms). Plain JavaScript on purpose:
 * worker threads do not inherit the TypeScript loader in every runtime mode, and this file is only glue.
 * The WASM module is compiled once per thread; each request gets a fresh, cheap instance (espeak keeps global state).
 * The text goes after `--` (end of options): a chunk starting with `-` (Vietnamese dialogue: `-Chào anh`) or any
 * user text such as `-w /x` or `--help` is then always spoken, never parsed as an espeak option.
 */
import { parentPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { default: ESpeakNg } = await import('espeak-ng');
const wasmPath = require.resolve('espeak-ng/dist/espeak-ng.wasm');
const compiled = await WebAssembly.compile(await readFile(wasmPath));

parentPort.on('message', async (msg) => {
  const { id, text, voice, rate } = msg;
  try {
    const errors = [];
    const instance = await ESpeakNg({
      // Our own options first, then `--`: nothing in `text` can be read as an option.
      arguments: ['-v', voice, '-s', String(rate), '-w', '/out.wav', '--', text],
      print: () => {},
      printErr: (line) => errors.push(String(line)),
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(compiled, imports).then((inst) => done(inst, compiled));
        return {};
      },
    });
    const wav = instance.FS.readFile('/out.wav');
    parentPort.postMessage({ id, wav, warnings: errors }, [wav.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
});
parentPort.postMessage({ ready: true });
