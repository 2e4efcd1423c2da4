/** The designer's keyboard shortcuts. Outside text fields: Delete/Backspace, Ctrl+C/V, Ctrl+Z,
 * Ctrl+Shift+Z / Ctrl+Y, Ctrl+A, "?"; Ctrl+S everywhere. */
import { useEffect, useRef } from "react";

export interface ShortcutHandlers {
  save: () => void;
  undo: () => void;
  redo: () => void;
  copy: () => void;
  paste: () => void;
  remove: () => void;
  selectAll: () => void;
  help: () => void;
}

export const SHORTCUTS: [string, string][] = [
  ["Ctrl+S", "Save"],
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z / Ctrl+Y", "Redo"],
  ["Ctrl+C / Ctrl+V", "Copy / paste the selected steps"],
  ["Delete / Backspace", "Delete the selection"],
  ["Ctrl+A", "Select every step"],
  ["Shift + drag", "Select with a box"],
  ["Ctrl + click", "Add to the selection"],
  ["Drag from a handle", "Connect two steps"],
  ["{{", "In a text field: insert a value from the input or an upstream step"],
  ["?", "This help"],
];

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function useDesignerShortcuts(handlers: ShortcutHandlers, enabled = true) {
  const ref = useRef(handlers);
  ref.current = handlers;

  useEffect(() => {
    if (!enabled) return;
    const onKey = (event: KeyboardEvent) => {
      const h = ref.current;
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && key === "s") {
        event.preventDefault();
        h.save();
        return;
      }
      if (typing(event.target) || document.querySelector(".dialog-backdrop")) return;
      if (mod && key === "z") {
        event.preventDefault();
        if (event.shiftKey) h.redo();
        else h.undo();
      } else if (mod && key === "y") {
        event.preventDefault();
        h.redo();
      } else if (mod && key === "c") {
        if (window.getSelection()?.toString()) return; // copying text, not steps
        h.copy();
      } else if (mod && key === "v") {
        event.preventDefault();
        h.paste();
      } else if (mod && key === "a") {
        event.preventDefault();
        h.selectAll();
      } else if (!mod && (event.key === "Delete" || event.key === "Backspace")) {
        event.preventDefault();
        h.remove();
      } else if (event.key === "?") {
        h.help();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled]);
}
