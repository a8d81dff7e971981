import { Union, badRequest } from './errors';

/**
 * Typed reads of a route's JSON arguments, answering bad input the way Dropbox does: a 400 in plain text naming
 * the field (`request body: commit: missing required field 'path'`).
 */
export class Args {
  private constructor(
    private readonly route: string,
    /** "request body" or `HTTP header "Dropbox-API-Arg"`, followed by the field path for nested structs. */
    private readonly where: string,
    private readonly value: Record<string, unknown>,
  ) {}

  static parse(route: string, where: string, text: string): Args {
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw badRequest(route, `${where}: could not decode input as JSON`);
    }
    if (parsed === null) parsed = {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw badRequest(route, `${where}: expected object, got ${describe(parsed)}`);
    }
    return new Args(route, where, parsed as Record<string, unknown>);
  }

  /** The same arguments with other values (paths translated from another root). */
  withValue(value: Record<string, unknown>): Args {
    return new Args(this.route, this.where, value);
  }

  /** The decoded arguments as sent (for checks across every field). */
  get raw(): Readonly<Record<string, unknown>> {
    return this.value;
  }

  has(name: string): boolean {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  string(name: string): string {
    const value = this.required(name);
    if (typeof value !== 'string') throw this.typeError(name, 'string', value);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  boolean(name: string, fallback: boolean): boolean {
    if (!this.has(name)) return fallback;
    const value = this.value[name];
    if (typeof value !== 'boolean') throw this.typeError(name, 'boolean', value);
    return value;
  }

  integer(name: string, fallback?: number): number {
    if (!this.has(name) && fallback !== undefined) return fallback;
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw this.typeError(name, 'integer', value);
    }
    return value;
  }

  object(name: string): Args {
    const value = this.required(name);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.typeError(name, 'object', value);
    }
    return new Args(this.route, `${this.where}: ${name}`, value as Record<string, unknown>);
  }

  list(name: string, limits: { min?: number; max?: number } = {}): Args[] {
    const value = this.required(name);
    if (!Array.isArray(value)) throw this.typeError(name, 'list', value);
    if (limits.min !== undefined && value.length < limits.min) {
      throw this.fail(`${name}: list should have at least ${limits.min} items, got ${value.length}`);
    }
    if (limits.max !== undefined && value.length > limits.max) {
      throw this.fail(`${name}: list should have at most ${limits.max} items, got ${value.length}`);
    }
    return value.map((item, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw this.typeError(`${name}[${index}]`, 'object', item);
      }
      return new Args(this.route, `${this.where}: ${name}[${index}]`, item as Record<string, unknown>);
    });
  }

  /** A union argument: `"add"`, `{".tag":"add"}` or `{".tag":"update","update":"0123456789"}`. */
  union(name: string, fallback?: string): Union {
    if (!this.has(name) && fallback !== undefined) return { '.tag': fallback };
    const value = this.required(name);
    if (typeof value === 'string') return { '.tag': value };
    if (typeof value === 'object' && value !== null && typeof (value as Union)['.tag'] === 'string') {
      return value as Union;
    }
    throw this.typeError(name, 'union', value);
  }

  /** Rejects a value outside the union's known tags, like Dropbox's `unknown tag` 400. */
  tagOf(name: string, allowed: readonly string[], fallback?: string): string {
    const tag = this.union(name, fallback)['.tag'];
    if (!allowed.includes(tag)) throw this.fail(`${name}: unknown tag '${tag}'`);
    return tag;
  }

  fail(detail: string): Error {
    return badRequest(this.route, `${this.where}: ${detail}`);
  }

  private required(name: string): unknown {
    if (!this.has(name)) throw this.fail(`missing required field '${name}'`);
    return this.value[name];
  }

  private typeError(name: string, expected: string, value: unknown): Error {
    return this.fail(`${name}: expected ${expected}, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  return typeof value;
}
