import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from './args.js';
import type { OptionSpec } from './command.js';

const SPECS: Record<string, OptionSpec> = {
  user: { type: 'string', short: 'u', description: 'the user' },
  json: { type: 'boolean', description: 'JSON output' },
};

describe('parseCommandArgs', () => {
  it("takes the command's own options in every spelling, and positionals in order", () => {
    expect(parseCommandArgs(['add', '--user', 'ada', '--json', 'more'], SPECS)).toEqual({
      ok: true,
      args: { positionals: ['add', 'more'], options: { user: 'ada', json: true } },
      configArgv: [],
      help: false,
    });
    expect(parseCommandArgs(['--user=bob'], SPECS)).toMatchObject({ ok: true, args: { options: { user: 'bob' } } });
    expect(parseCommandArgs(['-u', 'cy'], SPECS)).toMatchObject({ ok: true, args: { options: { user: 'cy' } } });
  });

  it('hands every other flag, with its value, to the configuration', () => {
    const parsed = parseCommandArgs(['--port', '0', 'x', '--log.level=debug', '--json'], SPECS);
    expect(parsed).toMatchObject({ ok: true, args: { positionals: ['x'], options: { json: true } }, configArgv: ['--port', '0', '--log.level=debug'] });
  });

  it('takes everything after -- as positionals, and notices --help and -h anywhere', () => {
    expect(parseCommandArgs(['-h', '--', '--user', '-x'], SPECS)).toEqual({
      ok: true,
      args: { positionals: ['--user', '-x'], options: {} },
      configArgv: [],
      help: true,
    });
    expect(parseCommandArgs(['a', '--help'], SPECS)).toMatchObject({ ok: true, help: true });
  });

  it.each([
    [['--user'], '--user needs a value'],
    [['-u'], '--user needs a value'],
    [['--json=yes'], '--json takes no value'],
    [['-x'], 'unknown option -x'],
  ])('%j → %s', (argv, error) => {
    expect(parseCommandArgs(argv, SPECS)).toEqual({ ok: false, error });
  });

  it('takes a lone "-" as a positional (stdin, by convention)', () => {
    expect(parseCommandArgs(['-'], SPECS)).toMatchObject({ ok: true, args: { positionals: ['-'] } });
  });
});
