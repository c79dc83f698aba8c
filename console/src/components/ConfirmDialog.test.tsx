import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";

import { ConfirmDialog } from "./ConfirmDialog";

function WithReason({ onConfirm }: { onConfirm: (r: string) => void }) {
  const [reason, setReason] = useState("");
  return (
    <ConfirmDialog title="Halt" onCancel={() => undefined} onConfirm={() => onConfirm(reason)}>
      <input data-testid="confirm-reason" value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />
    </ConfirmDialog>
  );
}

describe("confirm dialog", () => {
  it("keeps the focus in the reason while typing (a re-render does not move it to Cancel)", () => {
    const onConfirm = vi.fn();
    render(<WithReason onConfirm={onConfirm} />);
    const input = screen.getByTestId("confirm-reason");
    expect(document.activeElement).toBe(input);
    fireEvent.change(input, { target: { value: "e2e drill" } });
    expect(document.activeElement).toBe(input);
    fireEvent.click(screen.getByTestId("confirm-ok"));
    expect(onConfirm).toHaveBeenCalledWith("e2e drill");
  });

  it("escape cancels; cancel has the focus when no field takes it", () => {
    const onCancel = vi.fn();
    render(
      <ConfirmDialog title="Stop" onCancel={onCancel} onConfirm={() => undefined}>
        text
      </ConfirmDialog>,
    );
    expect(document.activeElement).toBe(screen.getByTestId("confirm-cancel"));
    fireEvent.keyDown(window, { key: "Escape" });
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});
