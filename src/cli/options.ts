/**
 * Option-value parsers. The rule for every command: an option whose value is malformed —
 * not a number, out of range, not a duration, not one of the choices, not a digest or
 * algorithm — is a usage error (exit 2), found while parsing, before any work starts.
 * Malformed operands (digests and refs given as arguments or on stdin) are the library's
 * InvalidArgument (exit 7), like the same values reaching the library any other way.
 */
import { InvalidArgumentError } from 'commander';
import { parseAlgorithm, parseDigest, type Algorithm } from '../digest.js';
import { ContentError } from '../errors.js';
import { parseDuration } from './duration.js';

/** Runs a library parser, turning its InvalidArgument into commander's usage error. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ContentError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** A non-negative integer (sizes, offsets). */
export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** An integer from 1 to max (thread and connection counts). */
export function countOption(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** A duration (`500ms`, `30s`, `1h30m`) in milliseconds, at least minMs. */
export function durationOption(name: string, minMs = 0) {
  return (value: string): number => {
    const ms = usage(() => parseDuration(value));
    if (ms < minMs) throw new InvalidArgumentError(`${name} must be at least ${minMs}ms, got ${JSON.stringify(value)}`);
    return ms;
  };
}

export function digestOption(value: string): string {
  return usage(() => parseDigest(value).digest);
}

export function algorithmOption(value: string): Algorithm {
  return usage(() => parseAlgorithm(value));
}

export function nonEmptyOption(name: string) {
  return (value: string): string => {
    if (value === '') throw new InvalidArgumentError(`${name} must not be empty`);
    return value;
  };
}
