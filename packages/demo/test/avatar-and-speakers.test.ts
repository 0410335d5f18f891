import { describe, expect, it } from 'vitest';
import { avatarColor, initials } from '../public/avatar.js';
import { SpeakerDetector } from '../public/levels.js';

describe('initials avatars', () => {
  it('takes the first letters of the first two words, or one letter of one word', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('ada byron lovelace')).toBe('AB');
    expect(initials('alice')).toBe('A');
    expect(initials('bob.smith')).toBe('BS');
    expect(initials('王小明')).toBe('王');
    expect(initials('  ')).toBe('?');
    expect(initials(undefined)).toBe('?');
  });

  it('colours a user the same way every time', () => {
    expect(avatarColor('alice')).toBe(avatarColor('alice'));
    expect(avatarColor('alice')).toMatch(/^hsl\(\d+ 55% 42%\)$/);
  });
});

describe('SpeakerDetector', () => {
  const levels = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it('marks who is over the threshold, holding through short pauses', () => {
    const d = new SpeakerDetector({ threshold: 0.2, holdMs: 500 });
    expect([...d.update(levels({ a: 0.5, b: 0.1 }), 0).speaking]).toEqual(['a']);
    expect([...d.update(levels({ a: 0, b: 0.1 }), 400).speaking]).toEqual(['a']);
    expect([...d.update(levels({ a: 0, b: 0.1 }), 600).speaking]).toEqual([]);
  });

  it('keeps the active speaker while it speaks, then hands over to the loudest', () => {
    const d = new SpeakerDetector({ threshold: 0.2, holdMs: 500 });
    expect(d.update(levels({ a: 0.4, b: 0.3 }), 0).active).toBe('a');
    expect(d.update(levels({ a: 0.3, b: 0.6 }), 150).active).toBe('a');
    expect(d.update(levels({ a: 0, b: 0.6 }), 700).active).toBe('b');
    // Silence keeps the last speaker; leaving the room clears it.
    expect(d.update(levels({ a: 0, b: 0 }), 2000).active).toBe('b');
    expect(d.update(levels({ a: 0 }), 2100).active).toBeUndefined();
  });
});
