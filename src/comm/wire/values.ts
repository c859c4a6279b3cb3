/**
 * The kinds of values the public API names in its types. Declared here, away from the codec,
 * because the published declarations must need nothing from Node's types (no Buffer): a
 * consumer type-checks with TypeScript alone, without @types/node.
 */

/** Any typed array tsmpi carries as raw bytes. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * Values a reduction accepts: numbers, bigints, booleans, typed arrays and (nested) arrays of
 * them for the built-in ops; anything at all for a user op.
 */
export type Reducible = number | bigint | boolean | TypedArray | readonly unknown[] | unknown;
