import { Link } from "react-router";

import { EmptyState } from "@/components/ui";

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" action={<Link className="btn" to="/workflows">Go to workflows</Link>}>
      There is nothing at this address.
    </EmptyState>
  );
}
