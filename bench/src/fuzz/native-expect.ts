import { isUtf8 } from 'node:buffer';
import { CLOSE_CODES, isRequestId, peekRequestId, type RequestId } from '@heliograph/protocol';
import type { FrameLimits, WireFrame } from './native-frames.js';

/**
 * Closes that excuse the answers still owed: every documented code but 1011 (a server error, which
 * is a finding like INTERNAL), and the standard 1007/1009 that `ws` sends (both documented too).
 */
export const NATIVE_ALLOWED_CLOSES: ReadonlySet<number> = new Set(Object.values(CLOSE_CODES).filter((c) => c !== CLOSE_CODES.INTERNAL_ERROR));

/** What the server owes for one frame: an answer carrying this id (null included), or a close. */
export type Expectation = { answer: RequestId | null } | { close: number };

/**
 * The documented rule for which answer a frame gets: binary frames and unreadable ids get
 * `id: null`; frames over `maxFrameBytes` get the id when it is among the first 512 bytes
 * (docs/protocol.md); frames over the hard cap close with 1009, invalid UTF-8 with 1007.
 */
export function expectationFor(frame: WireFrame, limits: FrameLimits): Expectation {
  if (frame.data.length > limits.hardFrameBytes) {
    return { close: 1009 };
  }
  if (frame.binary) {
    return { answer: null };
  }
  if (!isUtf8(frame.data)) {
    return { close: 1007 };
  }
  if (frame.data.length > limits.maxFrameBytes) {
    return { answer: peekRequestId(frame.data.toString('utf8', 0, 512)) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data.toString('utf8'));
  } catch {
    return { answer: null };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { answer: null };
  }
  const id = (parsed as { id?: unknown }).id;
  return { answer: isRequestId(id) ? id : null };
}

/** Map key of an id as it comes back (`-0` is echoed as `0`). */
export function idKey(id: unknown): string {
  return id === null ? 'null' : `${typeof id}:${String(id)}`;
}
