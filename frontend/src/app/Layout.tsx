/** The frame of every signed-in page: the top bar with navigation and the user, then the page.
 * The API docs and (for staff, as the server's /auth/me/ says) the Django admin are server pages,
 * linked as plain links, not client-side routes. */
import { Navigate, NavLink, Outlet, useLocation } from "react-router";

import { Toasts } from "@/components/Toasts";
import { ErrorState, Spinner } from "@/components/ui";
import { useLogout, useMe } from "@/hooks/use-auth";

export const API_DOCS_URL = "/api/v1/docs/";
export const ADMIN_URL = "/admin/";

export function Layout() {
  const me = useMe();
  const logout = useLogout();
  const location = useLocation();

  if (me.isPending) return <Spinner />;
  if (me.isError) return <ErrorState error={me.error} onRetry={() => me.refetch()} />;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;

  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/workflows" className="brand">
          <span className="brand-mark" aria-hidden="true" />
          FlowPilot
        </NavLink>
        <nav className="topnav" aria-label="Main">
          <NavLink to="/workflows">Workflows</NavLink>
          <NavLink to="/executions">Executions</NavLink>
          <NavLink to="/approvals">Approvals</NavLink>
          <NavLink to="/dead-letters">Dead letters</NavLink>
          <NavLink to="/dashboard">Dashboard</NavLink>
          <NavLink to="/alerts">Alerts</NavLink>
          <NavLink to="/credentials">Credentials</NavLink>
        </nav>
        <nav className="topnav topnav-server" aria-label="More">
          <a href={API_DOCS_URL} target="_blank" rel="noopener">API docs</a>
          {me.data.is_staff ? <a href={ADMIN_URL} target="_blank" rel="noopener">Admin</a> : null}
        </nav>
        <div className="topbar-user">
          <span className="muted">{me.data.username}</span>
          <button type="button" className="btn btn-ghost" onClick={() => logout.mutate()}>
            Sign out
          </button>
        </div>
      </header>
      <div className="page">
        <Outlet />
      </div>
      <Toasts />
    </div>
  );
}
