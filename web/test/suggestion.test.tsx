import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SuggestionCard } from "@/components/TriagePanel";
import { type Approval, Composer } from "@/components/Conversation";
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
  confidence: 0.62,
  field_confidence: { priority: 0.62, team: 0.97, category: null },
  auto_applied_fields: ["team"],
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

  it("in a ticket, approving hands the draft to the composer instead of accepting at once", () => {
    const onApprove = vi.fn();
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    render(<SuggestionCard org="o" suggestion={suggestion} canDecide onDecided={() => {}} onApprove={onApprove} />);
    expect((screen.getByLabelText(/Draft reply/) as HTMLTextAreaElement).readOnly).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "Approve" }));
    expect(onApprove).toHaveBeenCalledWith(suggestion);
    expect(fetch).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
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

  it("shows each field's confidence, what auto-apply set, and why", () => {
    const explained: Suggestion = {
      ...suggestion,
      metadata: {
        engine: "learned-v1",
        model_versions: [["team", 3], ["priority", 2]],
        heads: { priority: { label: "high", probability: 0.62, urgency_cue: "card declined" } },
        similar_tickets: Array.from({ length: 6 }, (_, i) => ({
          ticket_id: `t${i}`,
          subject: `Refund request ${i}`,
          priority: "medium",
          team: "Billing",
          category: "refund",
          similarity: 0.9 - i / 10,
        })),
      },
    };
    render(<SuggestionCard org="o" suggestion={explained} canDecide onDecided={() => {}} />);
    expect(screen.getByRole("meter", { name: "Team confidence" }).getAttribute("aria-valuenow")).toBe("97");
    expect(screen.getByRole("meter", { name: "Priority confidence" }).getAttribute("aria-valuenow")).toBe("62");
    expect(screen.queryByRole("meter", { name: "Category confidence" })).toBeNull();
    expect(screen.getByTestId("field-confidence-category").textContent).toContain("no estimate");
    expect(screen.getByTestId("auto-applied-team")).toBeTruthy();
    expect(screen.queryByTestId("auto-applied-priority")).toBeNull();
    expect(screen.getByTestId("urgency-cue").textContent).toContain("card declined");
    expect(screen.getByTestId("model-versions").textContent).toContain("team v3, priority v2");
    const similar = screen.getAllByTestId("similar-ticket");
    expect(similar).toHaveLength(5);
    const link = screen.getByRole("link", { name: "Refund request 0" });
    expect(link.getAttribute("href")).toBe("/?ticket=t0");
    expect(similar[0].textContent).toContain("90%");
  });
});

describe("Composer", () => {
  it("holds a suggestion's draft while it is approved, and sends it as edited", async () => {
    const approval: Approval = { suggestionId: "s1", draft: suggestion.draft_reply };
    const onApprove = vi.fn(async () => {});
    const onSend = vi.fn(async () => {});
    const onCancel = vi.fn();
    render(<Composer onSend={onSend} approval={approval} onApprove={onApprove} onCancelApproval={onCancel} />);
    const box = screen.getByLabelText("Message") as HTMLTextAreaElement;
    expect(box.value).toBe(suggestion.draft_reply);
    expect(screen.queryByLabelText("Internal note")).toBeNull();
    fireEvent.change(box, { target: { value: `${suggestion.draft_reply} Regards, Ana` } });
    fireEvent.click(screen.getByRole("button", { name: "Approve and send reply" }));
    await waitFor(() => expect(onApprove).toHaveBeenCalledWith(approval, `${suggestion.draft_reply} Regards, Ana`));
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalled();
  });

  it("writes replies and notes when nothing is being approved", async () => {
    const onSend = vi.fn(async () => {});
    render(<Composer onSend={onSend} />);
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    fireEvent.click(screen.getByLabelText("Internal note"));
    fireEvent.change(screen.getByLabelText("Message"), { target: { value: "Called the bank." } });
    fireEvent.click(screen.getByRole("button", { name: "Add note" }));
    await waitFor(() => expect(onSend).toHaveBeenCalledWith("note", "Called the bank."));
  });
});
