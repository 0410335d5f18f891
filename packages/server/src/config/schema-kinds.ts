import Type, { type TProperties } from 'typebox';

/** A section of the configuration: it may be left out (every field in it has a default or is optional), and unknown keys are errors. */
export const Section = <T extends TProperties>(fields: T) => Type.Object(fields, { default: {}, additionalProperties: false });

/** The refill of a token bucket: a sustained rate per second, above 0. */
export const Rate = (perSecond: number, description: string) => Type.Number({ exclusiveMinimum: 0, default: perSecond, description });

/** A whole number of at least 1, with its default: a count, a size, a time in milliseconds. */
export const PositiveInt = (value: number, description: string) => Type.Integer({ minimum: 1, default: value, description });

/** The size of a token bucket: how many may come at once, at least 1. */
export const Burst = PositiveInt;
