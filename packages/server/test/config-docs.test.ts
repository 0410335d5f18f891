import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../src/config/load.js';

const DOC = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it.each(describeConfig().map((row) => [row.path, row] as const))('documents %s under all its names', (_path, row) => {
    expect(DOC).toContain(`\`${row.path}\``);
    expect(DOC).toContain(`\`${row.env}\``);
    expect(DOC).toContain(`\`${row.flag}\``);
    if (row.secret) {
      expect(DOC).toContain(`\`${row.env}_FILE\``);
      expect(DOC).toContain(`\`${row.flag}-file\``);
    }
  });

  it('shows each setting’s current default', () => {
    const table = DOC.split('\n').filter((line) => line.startsWith('| `'));
    for (const row of describeConfig()) {
      const line = table.find((l) => l.startsWith(`| \`${row.path}\` |`));
      expect(line, row.path).toBeDefined();
      expect(line, row.path).toContain(row.default === undefined ? '| — |' : `\`${row.default}\``);
    }
  });
});
