import { RoomId } from '@heliograph/protocol';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { roomIdFor, roomTitle } from '../public/room-id.js';

describe('room names people type become valid room ids', () => {
  it('turns spaces into dashes and keeps the name as the title', () => {
    expect(roomIdFor('  Team   sync ')).toEqual({ id: 'Team-sync', title: 'Team sync' });
    expect(roomIdFor('standup')).toEqual({ id: 'standup', title: 'standup' });
  });

  it('gives names with other characters a stable tag, the same for the same name', () => {
    const chinese = roomIdFor('周会')!;
    expect(chinese.id).toMatch(/^room-[0-9a-z]{7}$/);
    expect(chinese.title).toBe('周会');
    expect(roomIdFor('周会')!.id).toBe(chinese.id);
    expect(roomIdFor('周报')!.id).not.toBe(chinese.id);
    expect(roomIdFor('Café talk!')!.id).toMatch(/^Caf-talk-[0-9a-z]{7}$/);
  });

  it('always yields an id the protocol accepts', () => {
    for (const name of ['Team sync', '周会', 'a/b?c#d', '💬 chat', 'x'.repeat(300), 'ünïcödé naïve', '---', 'a'.repeat(128)]) {
      const room = roomIdFor(name)!;
      expect(Value.Check(RoomId, room.id), `${name} → ${room.id}`).toBe(true);
    }
  });

  it('has nothing for an empty name', () => {
    expect(roomIdFor('   ')).toBeUndefined();
    expect(roomIdFor('')).toBeUndefined();
  });

  it('shows a room by its title metadata, else by its id', () => {
    expect(roomTitle('room-abc', { title: '周会' })).toBe('周会');
    expect(roomTitle('standup', {})).toBe('standup');
    expect(roomTitle('standup', { title: 42 })).toBe('standup');
  });
});
