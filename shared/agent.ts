// The contract between the diskchain client and `diskchain agent --stdio` on a remote host:
// JSON lines over ssh. Requests carry the channel names and payloads of shared/ipc.ts, so the
// agent checks them with the same schemas serve and Electron use.
import { z } from 'zod';

/** Bumped on any change a peer of the other number could misread. */
export const AGENT_PROTOCOL = 1;

/** Capability: a `scan` with `drawn` is answered with what differs from its batches (`sinceBatches`). */
export const SCAN_SINCE_BATCHES = 'scan-since-batches';

/** Results and events whose JSON text is longer than this travel gzipped (base64). */
export const GZ_THRESHOLD = 64 * 1024;

/** No line (either way) may be longer than this: a peer that sends one is cut off. */
export const MAX_LINE = 16 * 1024 * 1024;

export const CAPABILITIES = ['session', 'helper-sudo', 'xattr-native'] as const;

export const HelloSchema = z.object({
  protocol: z.number().int(),
  version: z.string().max(64),
  node: z.string().max(64),
  uid: z.number().int(),
  bootTime: z.number().int().nullable(),
  selinux: z.boolean(),
  apparmor: z.boolean(),
  capabilities: z.array(z.string().max(64)).max(32),
});
export type Hello = z.infer<typeof HelloSchema>;
export const HelloFrameSchema = z.object({ hello: HelloSchema });

/** What the agent refuses with, and what a client reports about a host. */
export const AGENT_ERROR_CODES = [
  'connecting',
  'needs-password',
  'unknown-host-key',
  'changed-host-key',
  'agent-missing',
  'agent-too-old',
  'agent-too-new',
  'offline',
  'reconnecting',
  'no-sudo',
  'bad-request',
  'failed',
] as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];
export const AgentErrorSchema = z.object({ code: z.enum(AGENT_ERROR_CODES), message: z.string().max(64 * 1024) });
export type AgentError = z.infer<typeof AgentErrorSchema>;

/** Ids are small integers the client picks; a reply echoes them. */
const Id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const AgentRequestSchema = z.object({
  id: Id,
  method: z.string().max(64),
  params: z.unknown().optional(),
});
export type AgentRequest = z.infer<typeof AgentRequestSchema>;

const Gz = z.string().max(MAX_LINE);

export const AgentResponseSchema = z.union([
  z.object({ id: Id, ok: z.literal(true), result: z.unknown() }),
  z.object({ id: Id, ok: z.literal(true), gz: Gz }),
  z.object({ id: Id, ok: z.literal(false), error: AgentErrorSchema }),
]);
export type AgentResponse = z.infer<typeof AgentResponseSchema>;

export const AgentEventSchema = z.union([
  z.object({ event: z.string().max(64), data: z.unknown() }),
  z.object({ event: z.string().max(64), gz: Gz }),
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;

/**
 * The relay of sudo's password questions for the helper (`sudo -A` on the remote): the client
 * opts in with a request of SUDO_RELAY_METHOD; each question then comes as a SUDO_PROMPT_EVENT,
 * answered by a request of SUDO_ANSWER_METHOD (answer null: cancelled). Not session channels.
 */
export const SUDO_RELAY_METHOD = 'sudo-relay';
export const SUDO_PROMPT_EVENT = 'sudo-prompt';
export const SUDO_ANSWER_METHOD = 'sudo-answer';
export const SudoPromptSchema = z.object({ id: Id, host: z.string().max(255), text: z.string().max(4096) });
export type SudoPrompt = z.infer<typeof SudoPromptSchema>;
export const SudoAnswerSchema = z.strictObject({ id: Id, answer: z.string().max(4096).nullable() });

/** Any line after the hello, as the client reads it. */
export const AgentFrameSchema = z.union([AgentResponseSchema, AgentEventSchema]);
export type AgentFrame = z.infer<typeof AgentFrameSchema>;

/** The skew refusal's code: which side is older. */
export function skewCode(remoteProtocol: number): 'agent-too-old' | 'agent-too-new' {
  return remoteProtocol < AGENT_PROTOCOL ? 'agent-too-old' : 'agent-too-new';
}
