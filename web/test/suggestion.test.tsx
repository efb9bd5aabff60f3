import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { SuggestionCard } from "@/components/TriagePanel";
import type { Suggestion } from "@/lib/api";

const suggestion: Suggestion = {
  id: "s1",
  ticket_id: "t1",
  job_run_id: "j1",
  status: "pending",
  suggested_priority: "high",
  suggested_team: "Billing",
  classification: "refund",
  draft_reply: "Hello, refunds take five days.",
  citations: [{ document_id: "d1", chunk_id: "c1", char_start: 0, char_end: 40, score: 0.42 }],
  confidence: 0.91,
  metadata: {},
  decision_reason: null,
  created_at: "2026-11-25T10:00:00Z",
};

afterEach(cleanup);

describe("SuggestionCard", () => {
  it("lets an agent edit the draft and approve or reject", () => {
    render(<SuggestionCard org="o" suggestion={suggestion} canDecide onDecided={() => {}} />);
    expect(screen.getByRole("button", { name: "Approve" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Reject" })).toBeTruthy();
    const draft = screen.getByLabelText("Draft reply") as HTMLTextAreaElement;
    expect(draft.readOnly).toBe(false);
    expect(screen.getByTestId("suggested-team").textContent).toBe("Billing");
    expect(screen.getAllByTestId("citation")).toHaveLength(1);
  });

  it("shows a viewer no action buttons and a read-only draft", () => {
    render(<SuggestionCard org="o" suggestion={suggestion} canDecide={false} onDecided={() => {}} />);
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Reject" })).toBeNull();
    expect((screen.getByLabelText("Draft reply") as HTMLTextAreaElement).readOnly).toBe(true);
  });

  it("offers no decision on a suggestion already decided", () => {
    render(<SuggestionCard org="o" suggestion={{ ...suggestion, status: "accepted" }} canDecide onDecided={() => {}} />);
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
  });
});
