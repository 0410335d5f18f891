import { isErrorCode } from '@heliograph/protocol';
import type { ClusterMessage, NodeId, WireError } from './bus.js';

/** What travels on the transport's channels: a published message, a request, or its reply. */
export type Frame<M extends ClusterMessage> =
  | { k: 'pub'; from: NodeId; m: M; /** The publisher hears it too. */ e?: 1 }
  | { k: 'req'; from: NodeId; id: string; m: M }
  | { k: 'res'; from: NodeId; id: string; ok: true; body: unknown }
  | { k: 'res'; from: NodeId; id: string; ok: false; error: WireError };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isMessage = (v: unknown): v is ClusterMessage => isObject(v) && typeof v.type === 'string';

/**
 * Parses a frame from another node, or returns undefined. Nodes of one deployment trust each
 * other's payloads, but a frame from a different version or a stray publisher must not throw.
 */
export function decodeFrame<M extends ClusterMessage>(raw: string): Frame<M> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return toFrame<M>(v);
}

/**
 * Parses what one publication carried: one frame, or a batch (a JSON array of frames, in the
 * order they were sent). Returns the valid frames and how many were dropped.
 */
export function decodeFrames<M extends ClusterMessage>(raw: string): { frames: Frame<M>[]; dropped: number } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { frames: [], dropped: 1 };
  }
  const items = Array.isArray(v) ? v : [v];
  const frames: Frame<M>[] = [];
  for (const item of items) {
    const frame = toFrame<M>(item);
    if (frame) {
      frames.push(frame);
    }
  }
  return { frames, dropped: Math.max(items.length - frames.length, items.length === 0 ? 1 : 0) };
}

function toFrame<M extends ClusterMessage>(v: unknown): Frame<M> | undefined {
  if (!isObject(v) || typeof v.from !== 'string') {
    return undefined;
  }
  if (v.k === 'pub') {
    return isMessage(v.m) ? (v as Frame<M>) : undefined;
  }
  if (typeof v.id !== 'string') {
    return undefined;
  }
  if (v.k === 'req') {
    return isMessage(v.m) ? (v as Frame<M>) : undefined;
  }
  if (v.k === 'res' && v.ok === true) {
    return v as Frame<M>;
  }
  if (v.k === 'res' && v.ok === false && isObject(v.error) && isErrorCode(v.error.code) && typeof v.error.message === 'string') {
    return v as Frame<M>;
  }
  return undefined;
}
