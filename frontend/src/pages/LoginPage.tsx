import { useState, type FormEvent } from "react";
import { Navigate, useLocation } from "react-router";

import { useLogin, useMe } from "@/hooks/use-auth";

export function LoginPage() {
  const me = useMe();
  const login = useLogin();
  const location = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const next = (location.state as { from?: string } | null)?.from ?? "/workflows";

  if (me.data) return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate({ username, password });
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-label="Sign in">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          FlowPilot
        </div>
        <p className="muted">Sign in to design and run your workflows.</p>
        <label className="field">
          <span>Username</span>
          <input name="username" autoComplete="username" autoFocus value={username}
                 onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" value={password}
                 onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {login.error && <p className="form-error" role="alert">{login.error.message}</p>}
        <button type="submit" className="btn btn-primary" disabled={login.isPending}>
          {login.isPending ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted small">
          A fresh <code>make run</code> writes the first account to <code>var/admin-credentials.txt</code>.
        </p>
      </form>
    </main>
  );
}
