// The API client: JSON in and out, the access token attached, refreshed once on a 401
// without the user noticing, and problem+json errors turned into readable messages.

export type Role = "admin" | "agent" | "viewer";
export const ROLES: readonly Role[] = ["admin", "agent", "viewer"];
/** The value sets, in the order the console lists them. */
export const STATUSES = ["open", "in_progress", "resolved"] as const;
export const PRIORITIES = ["low", "medium", "high", "urgent"] as const;
export type Status = (typeof STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];

export interface Membership {
  organization_id: string;
  organization_name: string;
  role: Role;
}
/** A member of an org, as its admins see them. */
export interface Member {
  user_id: string;
  email: string;
  display_name: string;
  role: Role;
  joined_at: string;
}
export interface MemberPage {
  items: Member[];
  next_cursor: string | null;
}
export interface Me {
  user: { id: string; email: string; display_name: string };
  memberships: Membership[];
}
export interface Ticket {
  id: string;
  organization_id: string;
  requester_email: string;
  subject: string;
  body: string;
  status: Status;
  priority: Priority;
  assigned_team: string | null;
  category: string | null;
  created_at: string;
  updated_at: string;
}
export type MessageKind = "inbound" | "reply" | "note";
/** A message of a ticket's conversation; the first inbound one is the ticket's body. */
export interface Message {
  id: string;
  ticket_id: string;
  kind: MessageKind;
  author_type: "user" | "system" | "ai" | "webhook";
  author_user_id: string | null;
  body: string;
  external_id: string | null;
  /** For a reply the org mails: whether it went. */
  delivery_state: "pending" | "sent" | "failed" | null;
  delivery_error: string | null;
  created_at: string;
}
export interface TicketPage {
  items: Ticket[];
  next_cursor: string | null;
  counts: { open: number; in_progress: number; resolved: number };
}
export interface TicketEvent {
  id: string;
  event_type: string;
  actor_type: "user" | "system" | "ai" | "webhook";
  actor_user_id: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}
export interface Job {
  id: string;
  ticket_id: string;
  status: "queued" | "running" | "succeeded" | "failed";
  attempt_count: number;
  last_attempt_at: string | null;
  last_error: string | null;
  last_error_code: string | null;
}
export interface Citation {
  document_id: string;
  chunk_id: string;
  char_start: number;
  char_end: number;
  score: number;
}
export interface Suggestion {
  id: string;
  ticket_id: string;
  job_run_id: string;
  status: "pending" | "accepted" | "rejected";
  suggested_priority: Priority;
  suggested_team: string | null;
  classification: string | null;
  draft_reply: string;
  citations: Citation[];
  confidence: number;
  field_confidence: FieldConfidence;
  auto_applied_fields: SuggestedField[];
  metadata: Record<string, unknown>;
  decision_reason: string | null;
  created_at: string;
}
export type SuggestedField = "priority" | "team" | "category";
/** Each suggested field's own calibrated confidence; null where nothing estimated it. */
export type FieldConfidence = Record<SuggestedField, number | null>;
/** A labelled ticket near the one triaged, as a suggestion's metadata lists it. */
export interface SimilarTicket {
  ticket_id: string;
  subject: string;
  priority: Priority;
  team: string | null;
  category: string | null;
  similarity: number;
}
export interface Chunk {
  id: string;
  document_id: string;
  chunk_index: number;
  char_start: number;
  char_end: number;
  content: string;
}
export interface KbDocument {
  id: string;
  title: string;
  content_type: string;
  body: string;
  source_url: string | null;
  created_at: string;
}
export interface SearchHit extends Chunk {
  title: string;
  score: number;
  similarity: number;
}
export interface OrgSettings {
  teams: string[];
  categories: string[];
  default_team: string | null;
  default_category: string | null;
  auto_triage_webhook: boolean;
  auto_triage_api: boolean;
  auto_apply_threshold: number | null;
  auto_apply_fields: FieldConfidence;
  webhook_secret_set: boolean;
  webhook_secret_rotated_at: string | null;
  /** Until when the secret before the last rotation still signs; null: it does not. */
  webhook_secret_previous_expires_at: string | null;
  /** The address replies are mailed to requesters from; null: replies are not mailed. */
  reply_from: string | null;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public field?: string,
  ) {
    super(message);
  }
}

export const apiBase = (): string => process.env.NEXT_PUBLIC_API_BASE_URL ?? "";

// The access token lives in this module's memory only. The refresh token is an HttpOnly
// cookie the browser sends to /api/auth/ alone: no script on the page can read it, and a
// page load resumes the session by spending it once (resumeSession).
let access: string | null = null;

/** The access token of the session in this page, if any. */
export const accessToken = (): string | null => access;

/** Starts using the tokens a sign-in, sign-up, invite or password change answered. */
export function takeTokens(tokens: { access: string } | null): void {
  access = tokens?.access ?? null;
}

/** A POST to an /api/auth/ endpoint, with the session cookie. */
const authPost = (fetcher: typeof fetch, path: string, body?: unknown) =>
  fetcher(`${apiBase()}${path}`, {
    method: "POST",
    credentials: "include",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function problem(response: Response): Promise<ApiError> {
  let message = `Request failed (${response.status})`;
  let field: string | undefined;
  try {
    const body = await response.json();
    message = body.detail || body.title || message;
    field = body.field;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, field);
}

/** Called when the session cannot be kept (refresh failed): the app signs out. */
let onSessionLost: () => void = () => {};
export function setSessionLostHandler(handler: () => void): void {
  onSessionLost = handler;
}

let refreshing: Promise<string | null> | null = null;

/**
 * A new access token from the session cookie. A refresh token works once (the server
 * rotates it, and ends the session if one is used twice), so refreshes never overlap:
 * concurrent callers share one, and a caller whose token was replaced meanwhile gets the
 * current one.
 */
function refreshAccess(stale: string | null, fetcher: typeof fetch): Promise<string | null> {
  if (access && access !== stale) return Promise.resolve(access);
  refreshing ??= (async () => {
    const response = await authPost(fetcher, "/api/auth/token/refresh/");
    access = response.ok ? ((await response.json()).access as string) : null;
    return access;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Resumes the session the cookie holds, after a page load: whether there is one. */
export async function resumeSession(fetcher: typeof fetch = fetch): Promise<boolean> {
  return access !== null || (await refreshAccess(null, fetcher)) !== null;
}

/** Ends this session on the server (with `everywhere`, every session of the user); the
 * server deletes the cookie. Signing out always succeeds locally, even offline. */
export async function signOut(everywhere = false, fetcher: typeof fetch = fetch): Promise<void> {
  access = null;
  await authPost(fetcher, "/api/auth/logout/", { everywhere }).catch(() => undefined);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** A text body sent as it is (a file upload); name its content-type in `headers`. */
  raw?: string;
  headers?: Record<string, string>;
  fetcher?: typeof fetch;
}

/** Calls the API as the signed-in user; on a 401 refreshes the access token once. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const fetcher = options.fetcher ?? fetch;
  let token = access;
  const send = (bearer: string | null) =>
    fetcher(`${apiBase()}${path}`, {
      method: options.method ?? "GET",
      // Sign-up, invites and password changes answer with a session cookie.
      credentials: "include",
      headers: {
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...options.headers,
      },
      body: options.raw !== undefined ? options.raw : options.body !== undefined ? JSON.stringify(options.body) : undefined,
    });
  let response = await send(token);
  if (response.status === 401) {
    token = await refreshAccess(token, fetcher);
    if (!token) {
      onSessionLost();
      throw new ApiError(401, "Your session has ended. Please sign in again.");
    }
    response = await send(token);
  }
  if (!response.ok) throw await problem(response);
  // 202 and 204 carry no body.
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function signIn(email: string, password: string, fetcher: typeof fetch = fetch): Promise<void> {
  const response = await authPost(fetcher, "/api/auth/token/", { email, password });
  if (!response.ok) throw await problem(response);
  takeTokens(await response.json());
}

export const orgPath = (org: string, rest: string) => `/api/orgs/${org}/${rest}`;

/** Where sign-in continues: `?next=` when it is a path of this site, else the tickets. */
export function afterSignIn(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export interface InvitePreview {
  organization_name: string;
  email: string;
  role: Role;
  expires_at: string;
  state: "pending" | "accepted" | "revoked" | "expired";
}
export interface Invite {
  id: string;
  email: string;
  role: Role;
  created_by: string | null;
  created_at: string;
  expires_at: string;
}
/** The events an outbound webhook endpoint may subscribe to. */
export const EVENT_TYPES = [
  "ticket.created",
  "ticket.updated",
  "triage.suggested",
  "suggestion.accepted",
  "suggestion.rejected",
  "message.created",
] as const;
export interface Endpoint {
  id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
}
/** A new endpoint, with its signing secret shown this once. */
export interface CreatedEndpoint extends Endpoint {
  secret: string;
}
export interface Delivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempt_count: number;
  next_attempt_at: string;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}
/** A new invite, its token shown this once, and whether its mail went out. */
export interface IssuedInvite extends Invite {
  token: string;
  mailed: boolean;
}
/** Tokens as the console gets them: the refresh token is the cookie, not in the JSON. */
export interface TokenPair {
  access: string;
  expires_in: number;
}
export interface Joined {
  organization_id: string;
  role: Role;
  tokens: TokenPair | null;
}

/** The console's link for an invite's token. */
export const inviteLink = (origin: string, token: string) => `${origin}/invite/?token=${token}`;

export const canWrite = (role: Role | undefined) => role === "agent" || role === "admin";

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  confidence: number;
  accuracy: number;
}
export interface CoveragePoint {
  threshold: number;
  coverage: number;
  accuracy: number | null;
}
/** A head's newest model, with what training measured on its held-out predictions. */
export interface ModelSummary {
  head: SuggestedField;
  version: number;
  labels: string[];
  trained_on: number;
  created_at: string;
  metrics: {
    temperature?: number;
    calibration?: string;
    embedder?: string | null;
    cue_weight?: number;
    training_seconds?: number;
    diagnostics?: {
      label_counts: { label: string; count: number }[];
      held_out: number;
      accuracy: number | null;
      ece: number | null;
      reliability: ReliabilityBin[];
      coverage: CoveragePoint[];
    };
  };
}
export interface ModelOverview {
  heads: ModelSummary[];
  training: {
    labels_changed_at: string | null;
    models_trained_at: string | null;
    training_seconds: number | null;
    training_now: boolean;
    labelled_tickets: number;
    embedded_tickets: number;
  };
}
export interface WhatIf {
  threshold: number;
  applied: number;
  coverage: number;
  right: number;
  accuracy: number | null;
}
export interface FieldOutcome {
  decided: number;
  right: number;
  accuracy: number | null;
  what_if: WhatIf[];
}
export interface Outcomes {
  days: number;
  decided: number;
  accepted: number;
  rejected: number;
  accept_rate: number | null;
  accepted_then_edited: number;
  priority: FieldOutcome;
  team: FieldOutcome;
  category: FieldOutcome;
}
