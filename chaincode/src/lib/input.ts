import { isOneOf } from '../policy/vocabulary';
import { badInput } from './errors';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, decodeBase64Url } from './signatures';
import { parseInstant } from './time';

/** Opaque identifiers (UUIDs in practice): safe as composite-key attributes, no PHI-shaped free text. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_ATTRIBUTES = 32;
const MAX_ATTRIBUTE_VALUE_LENGTH = 256;
const MAX_LIST_LENGTH = 1000;

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a transaction argument that must hold a JSON object. */
export function parseJsonArgument(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badInput(`${what} is not valid JSON`);
  }
  if (!isJsonObject(value)) throw badInput(`${what} must be a JSON object`);
  return value;
}

export function requireId(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw badInput(`${what} must be an id of 1-128 characters [A-Za-z0-9._:-], starting with a letter or digit`);
  }
  return value;
}

export function requireOneOf<T extends string>(values: readonly T[], value: unknown, what: string): T {
  if (!isOneOf(values, value)) throw badInput(`${what} must be one of ${values.join(', ')}`);
  return value;
}

export function requireSha256Hex(value: unknown, what: string): string {
  if (typeof value !== 'string' || !HEX_SHA256.test(value)) throw badInput(`${what} must be a lowercase hex SHA-256 (64 characters)`);
  return value;
}

export function requirePositiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw badInput(`${what} must be a positive integer`);
  return value;
}

/** Transaction arguments arrive as strings: a decimal positive integer without sign or leading zeros. */
export function requirePositiveIntegerText(value: string, what: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw badInput(`${what} must be a positive integer`);
  return requirePositiveInteger(Number(value), what);
}

export function requireSignature(value: unknown, what: string): string {
  if (value === undefined || value === null || value === '') throw badInput(`${what} is required`);
  if (!decodeBase64Url(value, SIGNATURE_BYTES)) throw badInput(`${what} must be base64url (no padding) of a 64-byte Ed25519 signature`);
  return value as string;
}

/**
 * Reads the fields of one JSON object strictly: unknown fields are refused (every signed byte must
 * mean something), and each accessor names the offending field in its error.
 */
export class FieldReader {
  constructor(
    private readonly value: JsonObject,
    private readonly path: string,
    allowedFields: readonly string[],
  ) {
    const unknown = Object.keys(value).filter((key) => !allowedFields.includes(key));
    if (unknown.length > 0) throw badInput(`${path} has unknown field(s): ${unknown.join(', ')}`);
  }

  static of(value: unknown, path: string, allowedFields: readonly string[]): FieldReader {
    if (!isJsonObject(value)) throw badInput(`${path} must be a JSON object`);
    return new FieldReader(value, path, allowedFields);
  }

  has(field: string): boolean {
    return this.value[field] !== undefined && this.value[field] !== null;
  }

  private name(field: string): string {
    return `${this.path}.${field}`;
  }

  private required(field: string): unknown {
    if (!this.has(field)) throw badInput(`${this.name(field)} is required`);
    return this.value[field];
  }

  literal<T extends string>(field: string, expected: T): T {
    if (this.required(field) !== expected) throw badInput(`${this.name(field)} must be "${expected}"`);
    return expected;
  }

  id(field: string): string {
    return requireId(this.required(field), this.name(field));
  }

  optionalId(field: string): string | undefined {
    return this.has(field) ? this.id(field) : undefined;
  }

  text(field: string, maxLength: number): string {
    const value = this.required(field);
    if (typeof value !== 'string' || value.trim().length === 0 || value.length > maxLength) {
      throw badInput(`${this.name(field)} must be a non-blank string of at most ${maxLength} characters`);
    }
    return value;
  }

  oneOf<T extends string>(field: string, values: readonly T[]): T {
    return requireOneOf(values, this.required(field), this.name(field));
  }

  optionalOneOf<T extends string>(field: string, values: readonly T[]): T | undefined {
    return this.has(field) ? this.oneOf(field, values) : undefined;
  }

  sha256Hex(field: string): string {
    return requireSha256Hex(this.required(field), this.name(field));
  }

  positiveInteger(field: string): number {
    return requirePositiveInteger(this.required(field), this.name(field));
  }

  instant(field: string): string {
    const value = this.required(field);
    if (parseInstant(value) === undefined) throw badInput(`${this.name(field)} must be an ISO-8601 UTC instant (e.g. 2030-01-31T12:00:00.000Z)`);
    return value as string;
  }

  publicKey(field: string): string {
    const value = this.required(field);
    if (!decodeBase64Url(value, PUBLIC_KEY_BYTES)) throw badInput(`${this.name(field)} must be base64url (no padding) of a raw 32-byte public key`);
    return value as string;
  }

  list<T extends string>(field: string, item: (value: unknown, what: string) => T, options: { nonEmpty: boolean }): T[] {
    const value = this.required(field);
    if (!Array.isArray(value)) throw badInput(`${this.name(field)} must be an array`);
    if (options.nonEmpty && value.length === 0) throw badInput(`${this.name(field)} must not be empty`);
    if (value.length > MAX_LIST_LENGTH) throw badInput(`${this.name(field)} has more than ${MAX_LIST_LENGTH} items`);
    const items = value.map((entry, index) => item(entry, `${this.name(field)}[${index}]`));
    if (new Set(items).size !== items.length) throw badInput(`${this.name(field)} has duplicate items`);
    return items;
  }

  enumList<T extends string>(field: string, values: readonly T[], options: { nonEmpty: boolean }): T[] {
    return this.list(field, (entry, what) => requireOneOf(values, entry, what), options);
  }

  idList(field: string, options: { nonEmpty: boolean }): string[] {
    return this.list(field, requireId, options);
  }

  object(field: string, allowedFields: readonly string[]): FieldReader {
    return FieldReader.of(this.required(field), this.name(field), allowedFields);
  }

  /** A small string → string map (e.g. `{ department: 'cardiology' }`): descriptive attributes, never PHI. */
  attributes(field: string): Record<string, string> {
    const value = this.required(field);
    if (!isJsonObject(value)) throw badInput(`${this.name(field)} must be an object of string values`);
    const entries = Object.entries(value);
    if (entries.length > MAX_ATTRIBUTES) throw badInput(`${this.name(field)} has more than ${MAX_ATTRIBUTES} entries`);
    for (const [name, entry] of entries) {
      if (!ATTRIBUTE_NAME.test(name)) throw badInput(`${this.name(field)} has an invalid attribute name: ${JSON.stringify(name)}`);
      if (typeof entry !== 'string' || entry.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
        throw badInput(`${this.name(field)}.${name} must be a string of at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`);
      }
    }
    return Object.fromEntries(entries) as Record<string, string>;
  }
}
