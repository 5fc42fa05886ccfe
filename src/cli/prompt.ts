// Reading what the user types or pipes in: all of stdin (`--password-stdin`, `FILE` given as `-`) and a
// prompt on the terminal that can hide what is typed (passwords).
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** All of stdin, as bytes. */
export async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/** All of stdin, as UTF-8 text. */
export async function readStdin(): Promise<string> {
  return (await readStdinBytes()).toString('utf8');
}

/** Asks on the terminal (on stderr, so stdout stays data); with `echo: false` the answer is not shown. */
export function prompt(question: string, opts: { echo: boolean }): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      if (!opts.echo) process.stderr.write('\n');
      resolve(answer);
    });
    muted = !opts.echo;
  });
}
