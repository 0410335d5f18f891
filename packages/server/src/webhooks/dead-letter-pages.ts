import type { DeadLetter, StoredDeadLetter } from './outbox.js';

/** A dead letter as the cluster lists it: with the node whose outbox holds it. */
export interface NodeDeadLetter extends DeadLetter {
  node: string;
}

/** One node's answer: its dead letters after the cursor's position for it, oldest first, and whether it has more. */
export interface NodePage {
  node: string;
  items: StoredDeadLetter[];
  more: boolean;
}

/** For each node, the outbox position of the last of its dead letters already listed. */
export type Positions = ReadonlyMap<string, number>;

const ENTRY = '[A-Za-z0-9_-]{1,64}:[0-9]{1,15}';

/** A cluster cursor: `node:position` for each node, comma-separated (64 nodes at most). */
export const CURSOR_PATTERN = `^${ENTRY}(,${ENTRY}){0,63}$`;

export function encodeCursor(positions: Positions): string {
  return [...positions].map(([node, position]) => `${node}:${position}`).join(',');
}

/** The positions of a cursor that matches `CURSOR_PATTERN` (no cursor: every node from its start). */
export function decodeCursor(cursor: string | undefined): Map<string, number> {
  const positions = new Map<string, number>();
  for (const entry of cursor ? cursor.split(',') : []) {
    const at = entry.lastIndexOf(':');
    positions.set(entry.slice(0, at), Number(entry.slice(at + 1)));
  }
  return positions;
}

function older(a: StoredDeadLetter, aNode: string, b: StoredDeadLetter, bNode: string): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && aNode < bNode);
}

/**
 * Merges the nodes' pages into one of at most `limit`, oldest first (then by node id). It is a
 * merge of the nodes' own orders, so what it takes of a node is always a prefix of that node's
 * page: the next cursor (each node's last position taken) skips nothing and repeats nothing.
 * Nodes that did not answer (`missing`) keep their place in the cursor for the next page.
 */
export function mergePages(
  pages: readonly NodePage[],
  limit: number,
  after: Positions,
  missing: readonly string[] = [],
): { items: NodeDeadLetter[]; next?: Map<string, number> } {
  const taken = pages.map(() => 0);
  const next = new Map<string, number>();
  for (const node of [...pages.map((p) => p.node), ...missing]) {
    const position = after.get(node);
    if (position !== undefined) {
      next.set(node, position);
    }
  }
  const items: NodeDeadLetter[] = [];
  while (items.length < limit) {
    let pick = -1;
    pages.forEach((page, i) => {
      const head = page.items[taken[i] ?? 0];
      const best = pick < 0 ? undefined : pages[pick];
      const bestHead = best?.items[taken[pick] ?? 0];
      if (head && (!best || !bestHead || older(head, page.node, bestHead, best.node))) {
        pick = i;
      }
    });
    const page = pages[pick];
    const item = page?.items[taken[pick] ?? 0];
    if (!page || !item) {
      break;
    }
    taken[pick] = (taken[pick] ?? 0) + 1;
    next.set(page.node, item.position);
    const { position: _position, ...letter } = item;
    items.push({ ...letter, node: page.node });
  }
  const more = pages.some((page, i) => page.more || (taken[i] ?? 0) < page.items.length);
  return more ? { items, next } : { items };
}
