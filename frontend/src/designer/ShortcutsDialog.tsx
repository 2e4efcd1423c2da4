import { SHORTCUTS } from "@/hooks/use-designer-shortcuts";

import { Dialog } from "./Dialog";

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose}>
      <table className="fp-shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>{keys.split(" / ").map((k, i) => <span key={k}>{i > 0 && " / "}<kbd>{k}</kbd></span>)}</td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
