/**
 * @heliograph/common: primitives shared by the server and the client SDK. No I/O and no
 * Node-only imports: the SDK bundles it for browsers.
 */
export * from './clock.js';
export * from './emitter.js';
export * from './fake-clock.js';
export * from './request-tracker.js';
