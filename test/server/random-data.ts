// Reproducible randomness for the server tests: a seeded PRNG for decisions and delays, and
// seeded pseudo-random byte streams (AES-128-CTR keystream) for blob contents, so that a blob
// can be regenerated from its seed instead of being kept in memory.
import { createCipheriv, createHash, randomInt } from 'node:crypto';

/** A small seeded PRNG (mulberry32). Same seed, same sequence. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Picks a key of `weights` with probability proportional to its weight (weights ≤ 0 never win). */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = (Object.entries(weights) as [K, number][]).filter(([, w]) => w > 0);
    if (entries.length === 0) throw new Error('Prng.weighted: no positive weight');
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  /** A child generator whose sequence depends only on this seed and `label`. */
  fork(label: string): Prng {
    return new Prng(seedFromString(`${this.state}:${label}`));
  }
}

/** The seed from the environment variable `name` if set (to replay a failure), else a fresh random one. */
export function chooseSeed(name: string): number {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${name}=${fromEnv} is not a 32-bit unsigned integer`);
    return n;
  }
  return randomInt(0, 0x7fffffff);
}

export function seedFromString(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0);
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The pseudo-random bytes named by `seed`, `chunkSize` bytes at a time (the last chunk may be shorter).
 * The stream is the AES-128-CTR keystream for a key derived from the seed: fast and reproducible.
 */
export function* pseudoRandomChunks(seed: string, totalBytes: number, chunkSize = 1024 * 1024): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(chunkSize, Math.max(totalBytes, 1)));
  for (let offset = 0; offset < totalBytes; offset += chunkSize) {
    const n = Math.min(chunkSize, totalBytes - offset);
    yield cipher.update(zeros.subarray(0, n));
  }
}

/** The whole pseudo-random content for `seed` (for small-to-medium blobs only). */
export function pseudoRandomBytes(seed: string, size: number): Buffer {
  return Buffer.concat([...pseudoRandomChunks(seed, size)], size);
}

/** sha256 digest of the pseudo-random content for `seed`, computed while streaming (constant memory). */
export function pseudoRandomDigest(seed: string, totalBytes: number, chunkSize = 1024 * 1024): string {
  const hash = createHash('sha256');
  for (const chunk of pseudoRandomChunks(seed, totalBytes, chunkSize)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}
