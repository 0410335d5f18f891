import { describe, expect, it } from 'vitest';
import { CURSOR_PATTERN, decodeCursor, encodeCursor, mergePages, type NodePage } from './dead-letter-pages.js';
import type { StoredDeadLetter } from './outbox.js';

function letter(id: string, position: number, createdAt: number): StoredDeadLetter {
  return { id, position, createdAt, type: 'peer.joined', room: 'r', seq: 1, attempts: 3, lastError: 'HTTP 500', event: {} };
}

const A: NodePage = { node: 'ND_a', items: [letter('a1', 4, 10), letter('a2', 9, 30)], more: false };
const B: NodePage = { node: 'ND_b', items: [letter('b1', 2, 20), letter('b2', 3, 30)], more: false };

describe('dead letter pages of a cluster', () => {
  it('merges the nodes oldest first, then by node, each letter with its node', () => {
    const { items, next } = mergePages([B, A], 10, new Map());
    expect(items.map((d) => `${d.node}/${d.id}`)).toEqual(['ND_a/a1', 'ND_b/b1', 'ND_a/a2', 'ND_b/b2']);
    expect(items[0]).not.toHaveProperty('position');
    expect(next).toBeUndefined();
  });

  it("pages through: the cursor holds each node's last position shown, so nothing repeats or is skipped", () => {
    const first = mergePages([A, B], 3, new Map());
    expect(first.items.map((d) => d.id)).toEqual(['a1', 'b1', 'a2']);
    expect(first.next).toEqual(
      new Map([
        ['ND_a', 9],
        ['ND_b', 2],
      ]),
    );
    // The next page: each node answers after its own position.
    const second = mergePages(
      [
        { ...A, items: [] },
        { ...B, items: [letter('b2', 3, 30)] },
      ],
      3,
      first.next ?? new Map(),
    );
    expect(second.items.map((d) => d.id)).toEqual(['b2']);
    expect(second.next).toBeUndefined();
  });

  it('has a next cursor when a node says it has more, and keeps the place of a node that did not answer', () => {
    const { next } = mergePages(
      [{ ...A, more: true }],
      5,
      new Map([
        ['ND_a', 1],
        ['ND_c', 7],
        ['ND_gone', 3],
      ]),
      ['ND_c'],
    );
    expect(next).toEqual(
      new Map([
        ['ND_a', 9],
        ['ND_c', 7],
      ]),
    );
  });

  it('encodes and decodes cursors that match the pattern', () => {
    const positions = new Map([
      ['ND_x-Y_1', 12],
      ['ND_b', 0],
    ]);
    const cursor = encodeCursor(positions);
    expect(cursor).toMatch(new RegExp(CURSOR_PATTERN));
    expect(decodeCursor(cursor)).toEqual(positions);
    expect(decodeCursor(undefined)).toEqual(new Map());
    expect('12').not.toMatch(new RegExp(CURSOR_PATTERN));
  });
});
