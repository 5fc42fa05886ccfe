// Unfinished chunked uploads after a restart: GET on the Location must answer either 204 with a Range no
// larger than what was sent — and then the upload must resume from that Range and complete — or
// 404 BLOB_UPLOAD_UNKNOWN. Run after verifyLedger, which pins the blobs these uploads were writing.
import { Ledger, blobKey, type OpenSession } from './crash-ledger.js';
import { PushClient, errorCodes, header, parseUploadRange, type RawResponse } from './push-client.js';
import { pseudoRandomBytes } from './random-data.js';
import type { RegistryTarget } from './registry-target.js';

/** 'resumed-behind-ack': resumed fine, but the server had kept fewer bytes than it had acknowledged (allowed, reported). */
export type SessionOutcome = 'resumed' | 'resumed-behind-ack' | 'unknown' | 'already-complete' | 'refused-by-reference';
const outcomes: readonly string[] = ['resumed', 'resumed-behind-ack', 'unknown', 'already-complete', 'refused-by-reference'];

export interface SessionReport {
  outcomes: SessionOutcome[];
  problems: string[];
  /** Details of the 'resumed-behind-ack' sessions. */
  notes: string[];
}

function shown(res: RawResponse): string {
  return `${res.request} -> ${res.status} ${res.body.toString('utf8').slice(0, 200)}`;
}

/** Distribution's documented refusal of a session whose stored offset does not match its data (reference only). */
function refusedByReference(res: RawResponse, target: RegistryTarget): boolean {
  if (!target.refusesMismatchedUploadState) return false;
  return res.status === 416 || ((res.status === 400 || res.status === 404) && errorCodes(res).includes('BLOB_UPLOAD_INVALID'));
}

/** PATCHes the rest of the blob from `offset`: the next Location, or the refusing response. */
async function resumeFrom(client: PushClient, location: string, offset: number, bytes: Buffer): Promise<{ location: string } | { status: RawResponse }> {
  if (offset >= bytes.length) return { location };
  const res = await client.patchChunk(location, offset, bytes.subarray(offset));
  if (res.status !== 202) return { status: res };
  return { location: header(res, 'location') ?? location };
}

async function resume(client: PushClient, ledger: Ledger, session: OpenSession, status: RawResponse, target: RegistryTarget): Promise<SessionOutcome | string> {
  const range = parseUploadRange(header(status, 'range'));
  if (!range) return `${session.origin}: ${shown(status)} has no valid Range header (got ${header(status, 'range')})`;
  if (range.minBytes > session.sentBytes) return `${session.origin}: Range ${header(status, 'range')} is larger than the ${session.sentBytes} bytes sent`;
  const fact = ledger.blobs.get(blobKey(session.blob.repo, session.blob.digest))!;
  if (fact.allowed.length === 1 && fact.allowed[0] === 'present') return 'already-complete';
  const bytes = pseudoRandomBytes(session.blob.seed, session.blob.size);
  let location = header(status, 'location') ?? session.location;
  let patched: { location: string } | { status: RawResponse } | undefined;
  // "0-0" may mean 0 or 1 byte: try 0 first; a server holding 1 byte answers 416 and we try 1.
  for (let offset = range.minBytes; offset <= range.maxBytes; offset++) {
    patched = await resumeFrom(client, location, offset, bytes);
    if ('location' in patched || patched.status.status !== 416 || offset === range.maxBytes) break;
  }
  if (patched && 'status' in patched) {
    if (refusedByReference(patched.status, target)) return 'refused-by-reference';
    return `${session.origin}: resuming after ${shown(status)} failed: ${shown(patched.status)}`;
  }
  location = patched!.location;
  const pending = ledger.begin(`resumed upload of ${session.blob.digest}`, [{ kind: 'blob', key: blobKey(session.blob.repo, session.blob.digest), to: 'present' }]);
  const done = await client.completeUpload(location, session.blob.digest);
  if (done.status !== 201) {
    pending.abandon();
    return `${session.origin}: completing the resumed upload failed: ${shown(done)}`;
  }
  pending.ack();
  return range.maxBytes < session.ackedBytes ? 'resumed-behind-ack' : 'resumed';
}

async function checkSession(client: PushClient, ledger: Ledger, session: OpenSession, target: RegistryTarget): Promise<SessionOutcome | string> {
  const status = await client.uploadStatus(session.location);
  if (status.status === 404 && errorCodes(status).includes('BLOB_UPLOAD_UNKNOWN')) return 'unknown';
  session.rangeAfterRestart = header(status, 'range');
  if (status.status === 204) return resume(client, ledger, session, status, target);
  if (refusedByReference(status, target)) return 'refused-by-reference';
  return `${session.origin}: upload status ${shown(status)}; expected 204 with Range or 404 BLOB_UPLOAD_UNKNOWN`;
}

/** Checks (and resumes) every open session, emptying the list. */
export async function checkOpenSessions(client: PushClient, ledger: Ledger, sessions: OpenSession[], target: RegistryTarget): Promise<SessionReport> {
  const report: SessionReport = { outcomes: [], problems: [], notes: [] };
  for (const session of sessions.splice(0)) {
    const result = await checkSession(client, ledger, session, target);
    if (result === 'resumed-behind-ack') {
      report.notes.push(`${session.origin}: acknowledged ${session.ackedBytes} bytes (sent ${session.sentBytes}), after the restart it answered Range ${session.rangeAfterRestart}`);
    }
    if (outcomes.includes(result)) report.outcomes.push(result as SessionOutcome);
    else report.problems.push(`${result} (acked ${session.ackedBytes} bytes, sent ${session.sentBytes}, Location ${session.location})`);
  }
  return report;
}
