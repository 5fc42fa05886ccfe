// The `admission` section of the configuration: one HTTP hook asked before a manifest push commits (and,
// when onPull is set, before a manifest is served). Every key is described for the configuration reference.
import { z } from 'zod';

export const admissionSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'the hook URL must be http:// or https://')
      .describe('URL the hook request is POSTed to (JSON in, {"allowed": bool, "reason": "…"} out; docs/extending.md).'),
    timeoutSeconds: z
      .number()
      .positive()
      .max(300)
      .default(5)
      .describe('How long Wharf waits for the hook\'s answer, in seconds; then the hook counts as unavailable.'),
    failOpen: z
      .boolean()
      .default(false)
      .describe('When the hook is unavailable (timeout, connection refused, an answer that is not {"allowed": bool}): false refuses the request with 403 DENIED "admission hook unavailable", true lets it through (and logs a warning).'),
    onPull: z.boolean().default(false).describe('Also ask the hook before a manifest GET (action "pull"); blob GETs are not asked.'),
    repositories: z
      .array(z.string().min(1))
      .default([])
      .describe('Repository globs the hook applies to (`*` within a path segment, `**` across); empty: every repository.'),
    headers: z
      .record(z.string().min(1), z.string())
      .default({})
      .describe('Extra request headers sent to the hook, e.g. Authorization: Bearer SECRET so the hook can tell Wharf from others.'),
    maxConfigBytes: z
      .number()
      .int()
      .nonnegative()
      .max(16 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Largest image config blob sent to the hook as JSON, in bytes; a larger (or non-JSON) config is sent as null.'),
  })
  .strict()
  .describe('An admission hook asked before a manifest push commits (docs/extending.md); absent: no hook.');

export type AdmissionConfig = z.output<typeof admissionSchema>;
