import { REQUESTS, PS_INBOUND } from '@heliograph/protocol';
import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { toJson } from './model.js';
import { nearFor, validFor, type JsonSchema } from './schema-arb.js';

/** A generated value as the server would parse it. */
const parsed = (value: unknown) => JSON.parse(toJson(value, () => 'PR_x')) as unknown;

describe('values built from the wire schemas', () => {
  it.each(Object.entries({ ...REQUESTS, ...Object.fromEntries(Object.entries(PS_INBOUND).map(([k, v]) => [k, { data: v }])) }))(
    '%s: validFor passes the schema, nearFor mostly does and sometimes does not',
    (_name, spec) => {
      const check = Compile(spec.data);
      fc.assert(
        fc.property(validFor(spec.data as JsonSchema), (v) => check.Check(parsed(v))),
        { seed: 1, numRuns: 200 },
      );
      const near = fc.sample(nearFor(spec.data as JsonSchema), { seed: 1, numRuns: 400 }).map((v) => check.Check(parsed(v)));
      const passing = near.filter(Boolean).length;
      expect(passing).toBeGreaterThan(near.length * 0.3);
      if (Object.keys((spec.data as JsonSchema).properties ?? {}).length > 0) {
        expect(passing).toBeLessThan(near.length);
      }
    },
  );
});
