// Durations as people write them in flags and config files: "0", "90s", "30m", "1h", "7d", "500ms", "1h30m".
export class DurationError extends Error {
  override name = 'DurationError';
}

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in a duration; throws DurationError on anything else. A bare number must be 0. */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (/^0+$/.test(value)) return 0;
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(value) ? value.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g) : null;
  if (!parts) {
    throw new DurationError(`invalid duration ${JSON.stringify(text)}: expected e.g. 0, 90s, 30m, 1h, 7d or 1h30m`);
  }
  let ms = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part)!;
    ms += Number(amount) * unitMs[unit!]!;
  }
  return Math.round(ms);
}

/** A short human form of a duration in milliseconds (the inverse of parseDuration for whole units). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
