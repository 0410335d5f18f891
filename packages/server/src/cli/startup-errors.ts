import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';
import { describeSystemError, StartupError } from '../shared/startup-error.js';

/** The ports a node listens on, by setting, in the order `listen()` opens them. */
function listeningPorts(config: Config): Array<[setting: string, flag: string, port: number]> {
  const ps = config.pixelStreaming;
  return [
    ['port', '--port', config.port],
    ...(ps.enabled ? [['pixelStreaming.streamerPort', '--pixel-streaming.streamer-port', ps.streamerPort] as [string, string, number]] : []),
    ...(ps.enabled && ps.sfuEnabled ? [['pixelStreaming.sfuPort', '--pixel-streaming.sfu-port', ps.sfuPort] as [string, string, number]] : []),
  ];
}

/** A failed `listen()`: which port setting, and what to do. */
function listenError(err: NodeJS.ErrnoException & { port?: number; address?: string }, config: Config): StartupError | undefined {
  const [setting, flag] = listeningPorts(config).find(([, , port]) => port === err.port) ?? ['port', '--port'];
  const where = `${err.address ?? config.host}:${String(err.port ?? '?')}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(setting, `${where} is already in use`, `stop what listens there, or choose another port with ${flag} (0 picks a free one)`, {
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
      return new StartupError(setting, `not allowed to listen on ${where}`, `ports below 1024 need privileges: choose one above 1023 with ${flag}`, {
        cause: err,
      });
    case 'EADDRNOTAVAIL':
      return new StartupError('host', `${config.host} is not an address of this machine`, 'set --host to one of its addresses, or 0.0.0.0 for all', {
        cause: err,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError('host', `cannot resolve ${JSON.stringify(config.host)}`, 'set --host to an address or a resolvable name', { cause: err });
    default:
      return undefined;
  }
}

function readTlsFile(setting: string, flag: string, what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StartupError(setting, `cannot read ${path}: ${describeSystemError(err)}`, `set ${flag} to a readable PEM ${what} file`, { cause: err });
  }
}

/** OpenSSL's reason without its error number: `PEM routines::no start line`. */
function opensslReason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^error:[0-9A-F]+:/, '');
}

/**
 * Checks before anything listens that `tls.cert` and `tls.key` can be read, hold a certificate and
 * a private key, and belong together; throws the StartupError naming the one that does not.
 */
export function checkTlsFiles(config: Config): void {
  const { cert, key } = config.tls;
  if (cert === undefined || key === undefined) {
    return;
  }
  const certPem = readTlsFile('tls.cert', '--tls.cert', 'certificate', cert);
  const keyPem = readTlsFile('tls.key', '--tls.key', 'private key', key);
  try {
    new X509Certificate(certPem);
  } catch (err) {
    throw new StartupError('tls.cert', `${cert} holds no PEM certificate (${opensslReason(err)})`, 'set --tls.cert to a PEM certificate (chain)', {
      cause: err,
    });
  }
  try {
    createPrivateKey(keyPem);
  } catch (err) {
    throw new StartupError(
      'tls.key',
      `${key} holds no usable PEM private key (${opensslReason(err)})`,
      'set --tls.key to the unencrypted PEM private key of tls.cert',
      {
        cause: err,
      },
    );
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new StartupError('tls.key', `${key} is not the private key of ${cert} (${opensslReason(err)})`, 'set --tls.key to the private key of tls.cert', {
      cause: err,
    });
  }
}

/**
 * The one-line StartupError for what `serve` or another command threw at start, when it is a
 * setting that does not work here (see StartupError); undefined for anything else, a bug.
 */
export function explainStartupError(err: unknown, config: Config): StartupError | undefined {
  if (err instanceof StartupError) {
    return err;
  }
  if (!(err instanceof Error)) {
    return undefined;
  }
  const sys = err as NodeJS.ErrnoException;
  if (sys.syscall === 'listen' || sys.syscall === 'bind' || sys.syscall === 'getaddrinfo') {
    return listenError(sys, config);
  }
  return undefined;
}
