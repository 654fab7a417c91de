/**
 * A throwaway self-signed certificate for 127.0.0.1, made when the fake starts and deleted when it closes (no key
 * is ever committed). @discordjs/voice always dials `wss://<endpoint>`, so the fake voice gateway needs TLS and
 * the bot must trust this certificate (see README: NODE_EXTRA_CA_CERTS for a child process,
 * `tls.setDefaultCACertificates` in-process). node:crypto can make keys but not X.509 certificates, hence the
 * `openssl` CLI: an EC P-256 key keeps generation to a few milliseconds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NarratorError } from '../../../src/services/errors.js';

const run = promisify(execFile);

export interface TlsMaterial {
  readonly certPath: string;
  readonly cert: string;
  readonly key: string;
  /** Deletes the temporary directory holding the key and certificate. */
  dispose(): Promise<void>;
}

export async function createSelfSignedCertificate(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-discord-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    await run('openssl', [
      'req', '-x509',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', keyPath, '-out', certPath,
      '-days', '2', '-subj', '/CN=127.0.0.1',
      // Node checks the IP against subjectAltName, never against CN.
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new NarratorError(
      'config',
      'fake_discord_openssl',
      'Fake Discord needs the `openssl` command to make a TLS certificate for its voice gateway.',
      String(err),
      { cause: err },
    );
  }
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { certPath, cert, key, dispose: () => rm(dir, { recursive: true, force: true }) };
}
