// One call to the admission hook: POST the review as JSON, bounded in time and in answer size, and read the
// verdict. Anything but a 2xx answer holding {"allowed": boolean} means the hook is unavailable.
import type { AdmissionReview, AdmissionVerdict } from './types.js';

/** Largest hook answer read, in bytes; a verdict is a few hundred bytes. */
const maxAnswerBytes = 64 * 1024;
/** Longest reason passed on to the client. */
const maxReasonChars = 1000;

export type CalloutResult = { kind: 'verdict'; verdict: AdmissionVerdict } | { kind: 'unavailable'; why: string };

export interface CalloutOptions {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export async function callHook(review: AdmissionReview, o: CalloutOptions): Promise<CalloutResult> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  let text: string;
  let status: number;
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { ...o.headers, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(review),
      redirect: 'error',
      signal,
    });
    status = res.status;
    text = await readBounded(res);
  } catch (e) {
    if (signal.aborted) return { kind: 'unavailable', why: `no answer within ${o.timeoutMs / 1000} s` };
    return { kind: 'unavailable', why: describeFailure(e) };
  }
  if (status < 200 || status > 299) return { kind: 'unavailable', why: `the hook answered HTTP ${status}` };
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { kind: 'unavailable', why: 'the hook\'s answer is not JSON' };
  }
  const a = answer as { allowed?: unknown; reason?: unknown };
  if (typeof answer !== 'object' || answer === null || typeof a.allowed !== 'boolean') {
    return { kind: 'unavailable', why: 'the hook\'s answer has no boolean "allowed"' };
  }
  const verdict: AdmissionVerdict = { allowed: a.allowed };
  if (typeof a.reason === 'string' && a.reason.trim() !== '') verdict.reason = cleanReason(a.reason);
  return { kind: 'verdict', verdict };
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxAnswerBytes) throw new Error(`the hook's answer is larger than ${maxAnswerBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Control characters out, length bounded: the reason ends up in an error message and a log line. */
function cleanReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > maxReasonChars ? `${flat.slice(0, maxReasonChars)}…` : flat;
}

/** A short cause without the hook's URL (the client sees it). */
function describeFailure(e: unknown): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (e instanceof Error && /larger than/.test(e.message)) return e.message;
  return 'request failed';
}
