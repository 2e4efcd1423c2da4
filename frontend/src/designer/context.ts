/** The store of the open designer, handed down by DesignerPage; read it through selectors. */
import { createContext, useContext } from "react";
import { useStore } from "zustand";

import type { PinnedData } from "@/lib/types";

import type { DesignerState, DesignerStore } from "./store";

export const DesignerContext = createContext<DesignerStore | null>(null);

export function useDesignerApi(): DesignerStore {
  const store = useContext(DesignerContext);
  if (!store) throw new Error("useDesigner must be used inside a DesignerContext provider");
  return store;
}

/** A slice of the designer's state; the component re-renders only when the slice changes. */
export function useDesigner<T>(selector: (state: DesignerState) => T): T {
  return useStore(useDesignerApi(), selector);
}

/** Saves the workflow's pinned data (PUT .../pinned-data/); given by the designer page. */
export const PinsContext = createContext<((pins: PinnedData) => Promise<unknown>) | null>(null);
