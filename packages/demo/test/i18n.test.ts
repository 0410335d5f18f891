import { readdirSync, readFileSync } from 'node:fs';
import { EVENT_TYPES, LeaveReason, REQUEST_TYPES } from '@heliograph/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { DICTIONARIES, formatWait, pickLanguage, setLanguage, t } from '../public/i18n.js';

const PUBLIC = new URL('../public/', import.meta.url);
const en: Record<string, string> = DICTIONARIES.en;
const zh: Record<string, string> = DICTIONARIES['zh-CN'];
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

afterEach(() => setLanguage('en'));

describe('the demo speaks English and Simplified Chinese', () => {
  it('picks the first language of the browser it speaks; any Chinese gets Simplified', () => {
    expect(pickLanguage(['zh-CN', 'en'])).toBe('zh-CN');
    expect(pickLanguage(['zh-TW'])).toBe('zh-CN');
    expect(pickLanguage(['zh'])).toBe('zh-CN');
    expect(pickLanguage(['en-GB', 'zh-CN'])).toBe('en');
    expect(pickLanguage(['fr-FR', 'zh-Hans-CN', 'en'])).toBe('zh-CN');
    expect(pickLanguage(['fr-FR', 'de'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
    expect(pickLanguage(undefined)).toBe('en');
  });

  it('has every text in both languages, with the same placeholders', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en)) {
      expect(placeholders(zh[key]!), key).toEqual(placeholders(en[key]!));
      expect(zh[key]!.trim(), key).not.toBe('');
    }
  });

  it('has a text for every key the page and the scripts use', () => {
    const html = readFileSync(new URL('index.html', PUBLIC), 'utf8');
    const used = new Set([...html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]!));
    const groups = 'app|header|notice|conn|auth|error|close|lobby|prejoin|media|env|room|leave|list|people|tile|control|ended|invite';
    const literal = new RegExp(`'((?:${groups})\\.[A-Za-z0-9_.]+)'`, 'g');
    for (const file of readdirSync(PUBLIC).filter((f) => f.endsWith('.js') && !f.startsWith('strings-'))) {
      for (const m of readFileSync(new URL(file, PUBLIC), 'utf8').matchAll(literal)) {
        // Names of the protocol's events and requests ('room.closed', 'peer.update') are no texts.
        if (!(EVENT_TYPES as string[]).includes(m[1]!) && !(REQUEST_TYPES as string[]).includes(m[1]!)) {
          used.add(m[1]!);
        }
      }
    }
    // Keys built from a value: every value the demo can meet.
    for (const state of ['idle', 'connecting', 'open', 'reconnecting', 'closed']) used.add(`conn.${state}`);
    for (const reason of LeaveReason.anyOf.map((s: { const: string }) => s.const).filter((r: string) => r !== 'left')) used.add(`leave.${reason}`);
    for (const kind of ['audio', 'video']) for (const why of ['denied', 'missing', 'busy', 'failed']) used.add(`media.${kind}.${why}`);
    for (const code of [4401, 4408, 4429, 4503, 4508, 1001]) used.add(`close.${code}`);
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((key) => !(key in en))).toEqual([]);
  });

  it('fills placeholders, and falls back to English, then to the key', () => {
    setLanguage('zh-CN');
    expect(t('room.joined', { name: 'Ada' })).toBe('Ada 加入了');
    expect(t('no.such.key')).toBe('no.such.key');
    setLanguage('xx');
    expect(t('room.joined', { name: 'Ada' })).toBe('Ada joined');
  });

  it('says how long to wait in words of the language, rounded up', () => {
    expect(formatWait(15 * 60_000)).toBe('in 15 minutes');
    expect(formatWait(14 * 60_000 + 1)).toBe('in 15 minutes');
    expect(formatWait(1500)).toBe('in 2 seconds');
    expect(formatWait(2 * 3600_000)).toBe('in 2 hours');
    setLanguage('zh-CN');
    expect(formatWait(15 * 60_000)).toBe('15分钟后');
    expect(t('auth.signupLimited', { wait: formatWait(15 * 60_000) })).toBe('此网络的注册次数过多，请15分钟后再注册。');
  });
});
