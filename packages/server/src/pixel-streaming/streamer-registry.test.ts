import { describe, expect, it } from 'vitest';
import { StreamerRegistry } from './streamer-registry.js';

describe('StreamerRegistry ids', () => {
  const make = () => ({ id: '' });

  it('keeps free ids, suffixes taken ones with the first free number, and keeps a streamer’s own id', () => {
    const reg = new StreamerRegistry<{ id: string }>();
    const a = make();
    expect(reg.add(a, 'DefaultStreamer')).toBe('DefaultStreamer');
    expect(reg.add(make(), 'DefaultStreamer')).toBe('DefaultStreamer1');
    expect(reg.freeId('DefaultStreamer', a)).toBe('DefaultStreamer');
    expect(reg.add(make(), 'Cam1')).toBe('Cam1');
    expect(reg.add(make(), 'Cam1')).toBe('Cam11');
    expect(reg.add(make(), '123')).toBe('123');
    expect(reg.add(make(), '123')).toBe('1231');
    reg.remove(a);
    expect(reg.add(make(), 'DefaultStreamer')).toBe('DefaultStreamer');
    expect(reg.list().map((s) => s.id)).toEqual(['DefaultStreamer1', 'Cam1', 'Cam11', '123', '1231', 'DefaultStreamer']);
  });

  it('renames in place, keeping registration order', () => {
    const reg = new StreamerRegistry<{ id: string }>();
    const a = make();
    reg.add(a, 'A');
    reg.add(make(), 'B');
    reg.rename(a, 'C');
    expect(reg.get('A')).toBeUndefined();
    expect(reg.get('C')).toBe(a);
    expect(reg.list().map((s) => s.id)).toEqual(['C', 'B']);
  });
});
