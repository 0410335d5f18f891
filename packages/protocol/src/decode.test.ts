import { describe, expect, it } from 'vitest';
import { decodeRequest, peekRequestId } from './decode.js';
import { grantMatches, roomPermissions } from './tokens.js';

describe('decodeRequest', () => {
  it('accepts a valid request and defaults missing data to {}', () => {
    expect(decodeRequest('{"id":1,"type":"ping"}')).toEqual({ ok: true, request: { id: 1, type: 'ping', data: {} } });
    const r = decodeRequest('{"id":"a","type":"signal.send","data":{"to":"PR_1","signal":{"candidate":null}}}');
    expect(r).toEqual({ ok: true, request: { id: 'a', type: 'signal.send', data: { to: 'PR_1', signal: { candidate: null } } } });
  });

  it.each([
    ['{', null, 'The frame is not valid JSON'],
    ['[]', null, 'The frame must be a JSON object'],
    ['{"type":"ping"}', null, '"id" must be an integer or a string of 1 to 64 characters'],
    ['{"id":1.5,"type":"ping"}', null, '"id" must be an integer or a string of 1 to 64 characters'],
    [`{"id":"${'x'.repeat(65)}","type":"ping"}`, null, '"id" must be an integer or a string of 1 to 64 characters'],
    ['{"id":2}', 2, '"type" must be a string'],
    ['{"id":3,"type":"nope"}', 3, 'Unknown request type "nope"'],
    ['{"id":4,"type":"room.join","data":{}}', 4, 'Invalid data for "room.join"'],
    ['{"id":5,"type":"room.join","data":{"room":"bad room!"}}', 5, 'Invalid data for "room.join"'],
    ['{"id":6,"type":"room.leave","data":{"x":1}}', 6, 'Invalid data for "room.leave"'],
    ['{"id":7,"type":"ping","data":[]}', 7, 'Invalid data for "ping"'],
  ])('%s → BAD_REQUEST', (text, id, message) => {
    const r = decodeRequest(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.id).toBe(id);
      expect(r.error.code).toBe('BAD_REQUEST');
      expect(r.error.message).toBe(message);
    }
  });

  it('lists where the data is wrong', () => {
    const r = decodeRequest('{"id":1,"type":"data.send","data":{"to":7}}');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.issues?.map((i) => i.path).sort()).toEqual(expect.arrayContaining(['/to']));
    }
  });
});

describe('peekRequestId', () => {
  it('finds a top-level id at the start of a frame', () => {
    expect(peekRequestId('{"id":42,"type":"data.send","data":{"payload":"xxxx')).toBe(42);
    expect(peekRequestId('{ "type":"x", "id" : "abc", "data":')).toBe('abc');
  });
  it('ignores nested ids and gives up when unsure', () => {
    expect(peekRequestId('{"type":"x","data":{"id":5},"id":6}')).toBe(6);
    expect(peekRequestId('{"type":"x","data":{"id":5}')).toBeNull();
    expect(peekRequestId('{"id":{"nested":1}}')).toBeNull();
    expect(peekRequestId('garbage')).toBeNull();
    expect(peekRequestId(`{"pad":"${'x'.repeat(600)}","id":1}`)).toBeNull();
  });
});

describe('grants', () => {
  it('match exact ids, the wildcard and prefixes', () => {
    expect(grantMatches({ room: 'a' }, 'a')).toBe(true);
    expect(grantMatches({ room: 'a' }, 'ab')).toBe(false);
    expect(grantMatches({ room: '*' }, 'anything')).toBe(true);
    expect(grantMatches({ room: 'team-*' }, 'team-7')).toBe(true);
    expect(grantMatches({ room: 'team-*' }, 'tea')).toBe(false);
  });
  it('add up, and create implies join', () => {
    expect(
      roomPermissions(
        [
          { room: 'a', join: true },
          { room: '*', create: true },
        ],
        'a',
      ),
    ).toEqual({ join: true, create: true });
    expect(roomPermissions([{ room: 'a', create: true }], 'a')).toEqual({ join: true, create: true });
    expect(roomPermissions([{ room: 'a', join: true }], 'b')).toEqual({ join: false, create: false });
    expect(roomPermissions([{ room: 'a' }], 'a')).toEqual({ join: false, create: false });
  });
});

describe('decodeRequest depth bound', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('refuses a frame nesting deeper than the limit with the id, the limit and where', () => {
    const r = decodeRequest(`{"id":5,"type":"room.join","data":{"room":"r","create":{"metadata":{"x":${deep(7000)}}}}}`);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.id).toBe(5);
      expect(r.error.code).toBe('BAD_REQUEST');
      expect(r.error.message).toContain('32 levels');
      expect(r.error.message).toContain('limits.maxDepth');
      expect(r.error.issues?.[0]?.path.startsWith('/data/create/metadata/x/0/0')).toBe(true);
    }
  });

  it('accepts a frame of exactly the limit, and the limit is the caller’s', () => {
    // The frame and its data are 2 levels around the signal’s nested arrays.
    const frame = (levels: number) => `{"id":1,"type":"signal.send","data":{"to":"PR_1","signal":${deep(levels)}}}`;
    expect(decodeRequest(frame(30)).ok).toBe(true);
    expect(decodeRequest(frame(31)).ok).toBe(false);
    expect(decodeRequest(frame(31), 33).ok).toBe(true);
    expect(decodeRequest(frame(3), 5).ok).toBe(true);
    expect(decodeRequest(frame(4), 5).ok).toBe(false);
  });
});
