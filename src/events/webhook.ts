// The webhook sink: POSTs one event as CloudEvents JSON (structured mode) to an endpoint, with its headers and,
// when it has a secret, an HMAC-SHA256 signature of the exact body. A delivery succeeds on any 2xx answer.
import { createHmac } from 'node:crypto';
import type { CloudEvent } from './model.js';
import type { EndpointConfig } from './config.js';

export const signatureHeader = 'X-Wharf-Signature';
export const cloudEventsContentType = 'application/cloudevents+json; charset=utf-8';

/** A delivery that did not get a 2xx answer (or any answer in time). */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    readonly endpoint: string,
    message: string,
    readonly status?: number,
  ) {
    super(`webhook ${endpoint}: ${message}`);
  }
}

/** `sha256=` and the hex HMAC-SHA256 of `body` with `secret`: the value of X-Wharf-Signature. */
export function signBody(secret: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export class WebhookSink {
  constructor(readonly endpoint: EndpointConfig) {}

  /** Delivers one event; throws DeliveryError when the endpoint does not take it. */
  async deliver(event: CloudEvent, attempt: number, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      ...this.endpoint.headers,
      'Content-Type': cloudEventsContentType,
      'User-Agent': 'wharf-events',
      'X-Wharf-Event-Id': event.id,
      'X-Wharf-Delivery-Attempt': String(attempt),
    };
    if (this.endpoint.secret !== undefined) headers[signatureHeader] = signBody(this.endpoint.secret, body);
    const timeout = AbortSignal.timeout(this.endpoint.timeoutSeconds * 1000);
    let res: Response;
    try {
      res = await fetch(this.endpoint.url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'manual' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted ? `no answer within ${this.endpoint.timeoutSeconds} s` : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new DeliveryError(this.endpoint.name, why);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new DeliveryError(this.endpoint.name, `answered HTTP ${res.status}`, res.status);
  }
}
