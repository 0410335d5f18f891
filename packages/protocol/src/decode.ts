import { Compile, type Validator } from 'typebox/compile';
import type { RequestId, Request } from './envelope.js';
import { ERRORS, type ErrorBody, type ValidationIssue } from './errors.js';
import { DEFAULT_MAX_DEPTH, tooDeepAt, tooDeepMessage } from './json-depth.js';
import { REQUESTS, isRequestType, type RequestType } from './requests.js';

export type DecodeResult = { ok: true; request: Request } | { ok: false; id: RequestId | null; error: ErrorBody };

const MAX_ID_LENGTH = 64;
const MAX_ISSUES = 10;

/** One compiled validator per request type, built once when the module loads. */
const validators = Object.fromEntries(Object.entries(REQUESTS).map(([type, spec]) => [type, Compile(spec.data)])) as Record<RequestType, Validator>;

function badRequest(id: RequestId | null, message: string, issues?: ValidationIssue[]) {
  const error: ErrorBody = { code: 'BAD_REQUEST', message };
  if (issues) {
    error.issues = issues;
  }
  return { ok: false as const, id, error };
}

export function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH);
}

/**
 * Decodes and validates one text frame from a client. This is the only place inbound JSON is
 * checked: a successful result is fully typed, and a failure carries the request id whenever the
 * frame was an object with a readable id. A frame nesting deeper than `maxDepth` levels is refused
 * before anything else walks it.
 */
export function decodeRequest(text: string, maxDepth = DEFAULT_MAX_DEPTH): DecodeResult {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return badRequest(null, 'The frame is not valid JSON');
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return badRequest(null, 'The frame must be a JSON object');
  }
  const { id, type, data } = frame as Record<string, unknown>;
  if (!isRequestId(id)) {
    return badRequest(null, '"id" must be an integer or a string of 1 to 64 characters');
  }
  const tooDeep = tooDeepAt(frame, maxDepth);
  if (tooDeep !== null) {
    return badRequest(id, tooDeepMessage('The frame', maxDepth), [{ path: tooDeep, message: `nested deeper than ${maxDepth} levels` }]);
  }
  if (typeof type !== 'string') {
    return badRequest(id, '"type" must be a string');
  }
  if (!isRequestType(type)) {
    return badRequest(id, `Unknown request type "${type.slice(0, 64)}"`);
  }
  const body = data === undefined ? {} : data;
  const validator = validators[type];
  if (!validator.Check(body)) {
    return badRequest(id, `Invalid data for "${type}"`, validationIssues(validator, body));
  }
  return { ok: true, request: { id, type, data: body } as Request };
}

function validationIssues(validator: Validator, value: unknown): ValidationIssue[] {
  return validator
    .Errors(value)
    .slice(0, MAX_ISSUES)
    .map((e) => ({ path: e.instancePath || '/', message: e.message }));
}

/**
 * Finds the top-level `"id"` of a frame without parsing it all, for frames too large to parse.
 * Looks only at the first `scanLimit` characters and returns null when unsure.
 */
export function peekRequestId(text: string, scanLimit = 512): RequestId | null {
  const end = Math.min(text.length, scanLimit);
  let depth = 0;
  for (let i = 0; i < end; i++) {
    const ch = text[i];
    if (ch === '"') {
      const close = skipString(text, i, end);
      if (close < 0) {
        return null;
      }
      if (depth === 1 && text.slice(i, close + 1) === '"id"') {
        return readIdValue(text, close + 1, end);
      }
      i = close;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
    }
  }
  return null;
}

function skipString(text: string, start: number, end: number): number {
  for (let i = start + 1; i < end; i++) {
    if (text[i] === '\\') {
      i++;
    } else if (text[i] === '"') {
      return i;
    }
  }
  return -1;
}

function readIdValue(text: string, from: number, end: number): RequestId | null {
  const match = /^\s*:\s*(-?\d{1,15}(?=[\s,}])|"[^"\\]{1,64}")/.exec(text.slice(from, end));
  if (!match?.[1]) {
    return null;
  }
  const value: unknown = JSON.parse(match[1]);
  return isRequestId(value) ? value : null;
}

/** The default message for a code, for places that have nothing more specific to say. */
export function errorBody(code: keyof typeof ERRORS, message?: string): ErrorBody {
  return { code, message: message ?? ERRORS[code].message };
}
