/** Short messages in the corner ("Saved as version 3", "Retry failed: ..."). */
import { create } from "zustand";

export interface Toast {
  id: number;
  message: string;
  kind: "info" | "error";
}

interface ToastStore {
  toasts: Toast[];
  push: (message: string, kind?: Toast["kind"]) => void;
  dismiss: (id: number) => void;
}

let nextId = 1;

export const useToasts = create<ToastStore>((set, get) => ({
  toasts: [],
  push: (message, kind = "info") => {
    const id = nextId++;
    set({ toasts: [...get().toasts, { id, message, kind }] });
    setTimeout(() => get().dismiss(id), kind === "error" ? 8000 : 4000);
  },
  dismiss: (id) => set({ toasts: get().toasts.filter((toast) => toast.id !== id) }),
}));

export const toast = (message: string, kind?: Toast["kind"]) => useToasts.getState().push(message, kind);
