/** Heliograph wire protocol v1: the single source of truth for messages, errors and close codes. */
export const PROTOCOL_VERSION = 1;

export * from './close-codes.js';
export * from './common.js';
export * from './decode.js';
export * from './envelope.js';
export * from './errors.js';
export * from './events.js';
export * from './json-depth.js';
export * from './requests.js';
export * from './tokens.js';
export * from './pixel-streaming.js';
