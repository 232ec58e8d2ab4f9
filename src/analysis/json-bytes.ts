// A JSON reader over the raw bytes of a CDP response, for the analysis worker: it walks to
// the members a task reads and turns only those into JavaScript values. JSON.parse would
// build every object of a 12 MB accessibility tree or of a DOM snapshot's ~90,000 little
// arrays; that garbage, not the parse, is what kept two workers from running twice as fast
// as one (V8's GC helper threads, which the main thread has to itself when it runs a task
// inline, are shared by every isolate of the process). Decoding the response into a string
// first would copy it once more: everything here reads the bytes where they arrived.

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

// Powers of ten a double holds exactly: a mantissa below 2^53 divided by one of them is
// rounded once, so the result is the double JSON.parse gives.
const EXACT_POWERS = Array.from({ length: 23 }, (_, k) => 10 ** k);

export class JsonBytes {
  /** Where the last number(), int list or string read by the caller ended. */
  end = 0;
  private readonly buffer: Buffer;
  private scratch: Int32Array = new Int32Array(1024);

  constructor(
    readonly b: Uint8Array,
    private readonly what: string,
  ) {
    this.buffer = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  get length(): number {
    return this.b.length;
  }

  /** The first occurrence of `pattern` at or after `from`, or -1 (a native search). */
  find(pattern: Uint8Array, from: number): number {
    return this.buffer.indexOf(pattern, from);
  }

  /** Whether the bytes at `at` are `pattern`. */
  startsWith(pattern: Uint8Array, at: number): boolean {
    const b = this.b;
    if (at < 0 || at + pattern.length > b.length) return false;
    for (let k = 0; k < pattern.length; k++) if (b[at + k] !== pattern[k]) return false;
    return true;
  }

  /** Whether the key whose opening quote is at `at` is `name` (ASCII; nothing is decoded). */
  is(at: number, name: string): boolean {
    const b = this.b;
    for (let k = 0; k < name.length; k++) if (b[at + 1 + k] !== name.charCodeAt(k)) return false;
    return b[at + 1 + name.length] === QUOTE;
  }

  ws(i: number): number {
    const b = this.b;
    while (i < b.length && (b[i] as number) <= 32) i++;
    return i;
  }

  /**
   * Walk an object from its `{`: `onMember` gets where each key starts (its quote, see is())
   * and where its value starts, and returns where the value ends once it consumed it
   * (undefined: skip it). Returns the index after the closing `}`.
   */
  object(at: number, onMember: (keyAt: number, valueAt: number) => number | undefined): number {
    for (let key = this.firstMember(at); key >= 0; key = this.nextMember()) {
      const value = this.valueAt(key);
      this.end = onMember(key, value) ?? this.skip(value);
    }
    return this.end;
  }

  /** Walk an array from its `[`: `onItem` consumes the item at `itemAt` and returns its end. */
  array(at: number, onItem: (itemAt: number) => number): number {
    for (let item = this.firstItem(at); item >= 0; item = this.nextItem()) this.end = onItem(item);
    return this.end;
  }

  /** The index after the value that starts at `at`. */
  skip(at: number): number {
    const b = this.b;
    const c = b[at];
    if (c === QUOTE) return this.string(at);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      for (let i = at; i < b.length; i++) {
        const d = b[i];
        if (d === QUOTE) i = this.string(i) - 1;
        else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
        else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return i + 1;
      }
      throw this.error(at, 'a closed object or array');
    }
    let i = at;
    while (i < b.length) {
      const d = b[i] as number;
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 32) break;
      i++;
    }
    if (i === at) throw this.error(at, 'a value');
    return i;
  }

  /** The index after the string that starts at `at` (its opening quote). */
  string(at: number): number {
    const b = this.b;
    let i = at + 1;
    for (;;) {
      while (i < b.length && b[i] !== QUOTE) i++;
      if (i >= b.length) throw this.error(at, 'a closed string');
      let backslashes = 0;
      for (let k = i - 1; b[k] === BACKSLASH; k--) backslashes++;
      if (backslashes % 2 === 0) return i + 1;
      i++;
    }
  }

  /** The JSON string at `at` as a JavaScript string; `end` is set past it. */
  text(at: number): string {
    const b = this.b;
    if (b[at] !== QUOTE) throw this.error(at, 'a string');
    const end = (this.end = this.string(at));
    for (let i = at + 1; i < end - 1; i++) if (b[i] === BACKSLASH) return JSON.parse(this.buffer.toString('utf8', at, end)) as string;
    return this.buffer.toString('utf8', at + 1, end - 1);
  }

  /** Any value, as JSON.parse gives it (for the few small values a task keeps whole). */
  value(at: number): unknown {
    if (this.b[at] === QUOTE) return this.text(at);
    const end = (this.end = this.skip(at));
    return JSON.parse(this.buffer.toString('utf8', at, end));
  }

  /**
   * The number at `at`; `end` is set past it. Integers and decimals of up to 15 digits are
   * read here, exactly as JSON.parse reads them; anything longer or with an exponent goes
   * through Number().
   */
  number(at: number): number {
    const b = this.b;
    let i = at;
    const negative = b[i] === MINUS;
    if (negative) i++;
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    let c = b[i] as number;
    while (c >= ZERO && c <= NINE) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      c = b[++i] as number;
    }
    if (c === DOT) {
      c = b[++i] as number;
      while (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        scale++;
        c = b[++i] as number;
      }
    }
    if (digits === 0) throw this.error(at, 'a number');
    if (digits > 15 || scale >= EXACT_POWERS.length || c === 101 || c === 69) {
      const end = this.skip(at);
      const value = Number(String.fromCharCode(...b.subarray(at, end)));
      if (Number.isNaN(value)) throw this.error(at, 'a number');
      this.end = end;
      return value;
    }
    this.end = i;
    const value = scale ? mantissa / (EXACT_POWERS[scale] as number) : mantissa;
    return negative ? -value : value;
  }

  /** An array of integers as an Int32Array; `end` is set past it. */
  ints(at: number): Int32Array {
    let n = 0;
    for (let i = this.firstItem(at); i >= 0; i = this.nextItem()) {
      if (n === this.scratch.length) this.scratch = grown(this.scratch);
      this.scratch[n++] = this.number(i);
    }
    return this.scratch.slice(0, n);
  }

  /**
   * An array of arrays of integers, flattened: `values` holds them all, item k's are
   * `values[starts[k]] … values[starts[k + 1] - 1]`. `end` is set past it.
   */
  intLists(at: number): { starts: Int32Array; values: Int32Array } {
    let starts: Int32Array = new Int32Array(1024);
    let items = 0;
    let n = 0;
    for (let item = this.firstItem(at); item >= 0; item = this.nextItem()) {
      for (let i = this.firstItem(item); i >= 0; i = this.nextItem()) {
        if (n === this.scratch.length) this.scratch = grown(this.scratch);
        this.scratch[n++] = this.number(i);
      }
      if (items + 2 > starts.length) starts = grown(starts);
      starts[++items] = n;
    }
    return { starts: starts.slice(0, items + 1), values: this.scratch.slice(0, n) };
  }

  /** An array of number arrays as `width` numbers per item (missing ones 0, extra ones dropped). */
  rows(at: number, width: number): Float64Array {
    let out = new Float64Array(1024 * width);
    let row = 0;
    for (let item = this.firstItem(at); item >= 0; item = this.nextItem()) {
      if ((row + 1) * width > out.length) out = grown(out);
      let k = 0;
      for (let i = this.firstItem(item); i >= 0; i = this.nextItem()) {
        const value = this.number(i);
        if (k++ < width) out[row * width + k - 1] = value;
      }
      row++;
    }
    return out.slice(0, row * width);
  }

  /**
   * Loops over an array's items or an object's members without a callback per item (a
   * closure per item was most of what reading a DOM snapshot allocated):
   * `for (let i = json.firstItem(at); i >= 0; i = json.nextItem())`, where reading item i
   * leaves `end` past it. -1 ends the loop, with `end` past the closing bracket.
   */
  firstItem(at: number): number {
    return this.open(at, OPEN_BRACKET, CLOSE_BRACKET);
  }

  nextItem(): number {
    return this.next(this.end, CLOSE_BRACKET);
  }

  /** As firstItem/nextItem, for the members of an object: each gives where a key starts (see valueAt). */
  firstMember(at: number): number {
    return this.open(at, OPEN_BRACE, CLOSE_BRACE);
  }

  nextMember(): number {
    return this.next(this.end, CLOSE_BRACE);
  }

  private open(at: number, opening: number, closing: number): number {
    let i = this.ws(at);
    if (this.b[i] !== opening) throw this.error(i, opening === OPEN_BRACKET ? 'an array' : 'an object');
    i = this.ws(i + 1);
    if (this.b[i] !== closing) return i;
    this.end = i + 1;
    return -1;
  }

  /** Where the value of the member whose key starts at `keyAt` (its quote) starts. */
  valueAt(keyAt: number): number {
    if (this.b[keyAt] !== QUOTE) throw this.error(keyAt, 'a key');
    const i = this.ws(this.string(keyAt));
    if (this.b[i] !== COLON) throw this.error(i, 'a colon');
    return this.ws(i + 1);
  }

  private next(after: number, closing: number): number {
    const i = this.ws(after);
    const c = this.b[i];
    if (c === COMMA) return this.ws(i + 1);
    if (c !== closing) throw this.error(i, closing === CLOSE_BRACKET ? 'a comma or ]' : 'a comma or }');
    this.end = i + 1;
    return -1;
  }

  /** Where the value of each string of an array starts (its quote); `end` is set past it. */
  stringStarts(at: number): Int32Array {
    let n = 0;
    this.end = this.array(at, (item) => {
      if (this.b[item] !== QUOTE) throw this.error(item, 'a string');
      if (n === this.scratch.length) this.scratch = grown(this.scratch);
      this.scratch[n++] = item;
      return this.string(item);
    });
    return this.scratch.slice(0, n);
  }

  error(at: number, expected: string): Error {
    return new Error(`malformed ${this.what} JSON: expected ${expected} at ${at}`);
  }
}

function grown<T extends Int32Array | Float64Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** The bytes of an ASCII pattern, for find() and startsWith(). */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Read the result of a CDP message, `{"id":N,"result":…}`: `read` gets where the result's
 * value starts and returns where it ends. An `error` member is thrown as the CDP error it is.
 */
export function readResult(json: JsonBytes, read: (at: number) => number): void {
  let found = false;
  let error: string | null = null;
  json.object(0, (key, at) => {
    if (json.is(key, 'result')) {
      found = true;
      return read(at);
    }
    if (json.is(key, 'error')) {
      const value = json.value(at) as { message?: string } | null;
      error = String(value?.message ?? 'unknown');
      return json.end;
    }
    return undefined;
  });
  if (error !== null) throw new Error(`CDP error: ${error}`);
  if (!found) throw json.error(0, 'a CDP response with a result');
}
