import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ERROR_CODES, EVENT_TYPES, REQUEST_TYPES } from '@heliograph/protocol';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md documents every part of packages/protocol', () => {
  it.each(ERROR_CODES)('error code %s is in the error table', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
  it.each(Object.entries(CLOSE_CODES))('close code %s (%i) is in the close table', (name, code) => {
    expect(doc).toMatch(new RegExp(`^\\| ${code} \\| \`${name}\` \\|`, 'm'));
  });
  it.each(REQUEST_TYPES)('request %s has a section', (type) => {
    expect(doc).toContain(`### \`${type}\``);
  });
  it.each(EVENT_TYPES)('event %s is in the event table', (type) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${type}\` \\|`, 'm'));
  });
});
