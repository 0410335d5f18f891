import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.js';

/** What one in-process `heliograph` command line printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one `heliograph` command line in this process, with no environment, and captures its output. */
export async function runCliCaptured(argv: string[], cwd: string, signal?: AbortSignal): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli({
    argv,
    env: {},
    cwd,
    version: 'test',
    io: { stdout, stderr, stdin: new PassThrough(), isTTY: false },
    ...(signal ? { signal } : {}),
  });
  return { code, stdout: out, stderr: err };
}
