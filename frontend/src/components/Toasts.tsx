import { useToasts } from "@/lib/toast";

export function Toasts() {
  const toasts = useToasts((store) => store.toasts);
  const dismiss = useToasts((store) => store.dismiss);
  return (
    <div className="toast-stack" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}
             onClick={() => dismiss(t.id)}>
          {t.message}
        </div>
      ))}
    </div>
  );
}
