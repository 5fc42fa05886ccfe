// One status line rewritten in place on a terminal (stderr), at most ten times a second, for long admin runs
// (`wharf import`, `wharf fsck`). Cleared before the command prints its result.

export interface StatusLine {
  /** Shows `text` (cut to the terminal's width), unless the last update was under 100 ms ago. */
  update(text: string): void;
  /** Clears the line if anything was shown. */
  done(): void;
}

export function statusLine(stream: NodeJS.WriteStream, now: () => number = Date.now): StatusLine {
  let last = 0;
  let shown = false;
  // One column short of the terminal, so the line never wraps (a terminal of unknown width counts as 80).
  const width = () => Math.max((stream.columns || 80) - 1, 20);
  return {
    update(text) {
      const t = now();
      if (t - last < 100) return;
      last = t;
      shown = true;
      stream.write(`\r${text.slice(0, width()).padEnd(width())}`);
    },
    done() {
      if (shown) stream.write(`\r${' '.repeat(width())}\r`);
      shown = false;
    },
  };
}
