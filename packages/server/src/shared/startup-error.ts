/**
 * A setting that is valid but does not work on this machine: a port in use, a certificate file
 * that cannot be read, a data directory that cannot be created, a Redis that cannot be reached.
 * The CLI prints it as one line, `heliograph: <setting>: <problem>; <fix>`, without a stack.
 */
export class StartupError extends Error {
  constructor(
    /** The setting's dotted path: `dataDir`, `tls.cert`, `redis.url`. */
    readonly setting: string,
    /** What is wrong, without the setting's name. */
    readonly problem: string,
    /** What to do about it. */
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${problem}; ${fix}`, options);
    this.name = 'StartupError';
  }
}

/** Node's words for the errno codes a file or directory operation fails with at start-up. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file is in the way',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/** `no such file or directory (ENOENT)` for a Node system error, else its message. */
export function describeSystemError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && ERRNO_WORDS[code]) {
    return `${ERRNO_WORDS[code]} (${code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
