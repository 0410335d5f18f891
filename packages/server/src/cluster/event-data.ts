import { Compile } from 'typebox/compile';
import { EVENTS, type EventData } from '@heliograph/protocol';
import { parseChecked, type Checker } from '../shared/parse-checked.js';

/** The membership events whose data another node's `room.event` carries and this node reads. */
type MembershipEvent = 'peer.joined' | 'peer.left' | 'peer.updated' | 'room.updated';

const joined = Compile(EVENTS['peer.joined']);
const left = Compile(EVENTS['peer.left']);
const updated = Compile(EVENTS['peer.updated']);
const roomUpdated = Compile(EVENTS['room.updated']);
const CHECKS: { [K in MembershipEvent]: Checker<EventData<K>> } = {
  'peer.joined': joined,
  'peer.left': left,
  'peer.updated': updated,
  'room.updated': roomUpdated,
};

/**
 * Reads the data of a membership event another node published (already serialised JSON), checked
 * with the protocol's compiled schema of that event: undefined when it does not parse or match.
 */
export function readEventData<T extends MembershipEvent>(event: T, data: string): EventData<T> | undefined {
  const check: Checker<EventData<T>> = CHECKS[event];
  return parseChecked(check, data);
}
