import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";

import { Layout } from "./Layout";

/** The menu links the server's pages: the API docs for everyone, the admin only when the server's
 * /auth/me/ says the user is staff (the browser does not decide it). */
function renderAs(user: { is_staff: boolean }) {
  const asked: string[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string) => {
    asked.push(url);
    return new Response(JSON.stringify({ id: 1, username: "ada", email: "", ...user }));
  }));
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter([{ path: "/", element: <Layout />, children: [{ index: true, element: <p>home</p> }] }]);
  render(<QueryClientProvider client={client}><RouterProvider router={router} /></QueryClientProvider>);
  return asked;
}

afterEach(() => vi.unstubAllGlobals());

describe("the app's menu", () => {
  it("links the API docs and, for staff, the admin", async () => {
    const asked = renderAs({ is_staff: true });
    expect(await screen.findByRole("link", { name: "API docs" })).toHaveAttribute("href", "/api/v1/docs/");
    expect(screen.getByRole("link", { name: "Admin" })).toHaveAttribute("href", "/admin/");
    expect(asked).toEqual(["/api/v1/auth/me/"]);
  });

  it("shows no admin link to a user who is not staff", async () => {
    renderAs({ is_staff: false });
    expect(await screen.findByRole("link", { name: "API docs" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Admin" })).not.toBeInTheDocument();
  });
});
