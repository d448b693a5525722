import { z } from 'zod';

// Alertmanager's webhook payload, version 4 (../shared/reference/alertmanager.md §1.1). Unknown fields are kept
// out, missing optional ones defaulted; anything else is a malformed payload (400, which Alertmanager does not
// retry, so only for input that can never succeed).

const labels = z.record(z.string(), z.string());
const time = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 time');

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).max(64),
});

export const webhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().default(''),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).max(100_000),
});

export type WebhookAlert = z.output<typeof alertSchema>;
export type Webhook = z.output<typeof webhookSchema>;
