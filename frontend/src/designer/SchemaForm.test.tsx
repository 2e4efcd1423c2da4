import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";

import type { JsonSchema } from "@/lib/types";
import type { Issue } from "@/lib/validation";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { ConditionFieldsContext } from "./ConditionBuilder";
import { SchemaForm } from "./SchemaForm";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));

/** A controlled form whose latest value the test can read. */
function Harness({ schema, initial, issues, onValue }: {
  schema: JsonSchema; initial: Record<string, unknown>; issues?: Issue[]; onValue: (v: Record<string, unknown>) => void;
}) {
  const [value, setValue] = useState(initial);
  return <SchemaForm schema={schema} value={value} issues={issues} onChange={(v) => { setValue(v); onValue(v); }} />;
}

/** The user's stored credentials, as GET /api/v1/credentials/ answers them to the pickers. */
const CREDENTIALS = [{ id: 1, name: "crm", description: "", created_at: "", updated_at: "", used_by: [] }];
const requests: { method: string; url: string; body: unknown }[] = [];

beforeEach(() => {
  requests.length = 0;
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    requests.push({ method: init?.method ?? "GET", url, body });
    if (init?.method === "POST" && url.startsWith("/api/v1/credentials/")) {
      const created = { id: 2, name: body.name, description: "", created_at: "", updated_at: "", used_by: [] };
      CREDENTIALS.push(created);
      return new Response(JSON.stringify(created), { status: 201 });
    }
    return new Response(JSON.stringify({ count: CREDENTIALS.length, results: CREDENTIALS }), { status: 200 });
  }));
});

afterEach(() => {
  CREDENTIALS.splice(1);
  vi.unstubAllGlobals();
});

function setup(schema: JsonSchema, initial: Record<string, unknown> = {}, issues?: Issue[]) {
  let latest = initial;
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <Harness schema={schema} initial={initial} issues={issues} onValue={(v) => (latest = v)} />
    </QueryClientProvider>,
  );
  return { value: () => latest };
}

const fieldOf = (label: string) => screen.getByLabelText(label).closest(".fp-field") as HTMLElement;

describe("SchemaForm", () => {
  it("generates a control per kind, labelled by title, with required markers, help and defaults", () => {
    setup(types.http_request.config_schema, { url: "https://x" });
    expect(screen.getByLabelText("URL")).toHaveValue("https://x");
    expect(screen.getByLabelText("URL").tagName).toBe("INPUT");
    expect(within(fieldOf("URL")).getByTitle("Required")).toBeInTheDocument();
    expect(within(fieldOf("Method")).queryByTitle("Required")).toBeNull();
    // enum -> select, its default offered
    const method = screen.getByLabelText("Method");
    expect(method.tagName).toBe("SELECT");
    expect(within(method).getByRole("option", { name: "Default (GET)" })).toBeInTheDocument();
    // number with its default as placeholder
    expect(screen.getByLabelText("Timeout (s)")).toHaveAttribute("type", "number");
    expect(screen.getByLabelText("Timeout (s)")).toHaveAttribute("placeholder", "Default: 30");
    // boolean -> checkbox showing its default (true)
    expect(screen.getByLabelText("Follow redirects")).toBeChecked();
    // free-form objects (additionalProperties) and untyped values -> JSON textareas
    expect(screen.getByLabelText("Headers").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("JSON body")).toHaveClass("fp-json");
    // an object with properties -> a nested fieldset with its own fields and help
    expect(screen.getByRole("group", { name: "Authentication (from a stored credential)" })).toBeInTheDocument();
    expect(screen.getByLabelText("Credential")).toHaveAccessibleDescription("The name of a stored credential holding the secret");
  });

  it("gives the sql step a query textarea, a JSON params box and a read-only checkbox on by default", () => {
    setup(types.sql.config_schema, { credential: "orders_db", query: "SELECT 1" });
    expect(screen.getByLabelText("Query").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("Query")).toHaveAccessibleDescription(/never templated/);
    expect(screen.getByLabelText("Parameters")).toHaveClass("fp-json");
    expect(screen.getByLabelText("Read only")).toBeChecked();
    expect(screen.getByLabelText("Max rows")).toHaveAttribute("placeholder", "Default: 1000");
    // marked format: "credential" by the server: a picker of the user's credentials, not a text box
    expect(screen.getByLabelText("Credential").tagName).toBe("SELECT");
    expect(within(fieldOf("Query")).getByTitle("Required")).toBeInTheDocument();
  });

  it("uses a textarea for long text", () => {
    setup(types.send_email.config_schema, { body: "Hello" });
    expect(screen.getByLabelText("Body (text)").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("Subject").tagName).toBe("INPUT");
  });

  it("edits a file's content as text in a textarea, or as JSON when it holds another JSON value", () => {
    const text = setup(types.file.config_schema, { operation: "write", path: "a.csv", content: "x,y" });
    expect(screen.getByLabelText("Content").tagName).toBe("TEXTAREA");
    expect(screen.getByLabelText("Content")).not.toHaveClass("fp-json");
    fireEvent.change(screen.getByLabelText("Content"), { target: { value: "x,y\n1,2" } });
    expect(text.value().content).toBe("x,y\n1,2");
    cleanup();
    const json = setup(types.file.config_schema, { operation: "write", path: "a.json", content: { n: 1 } });
    expect(screen.getByLabelText("Content")).toHaveClass("fp-json");
    fireEvent.change(screen.getByLabelText("Content"), { target: { value: '{"n": 2, "tags": ["a"]}' } });
    expect(json.value().content).toEqual({ n: 2, tags: ["a"] });
    expect(screen.getByLabelText("Operation").tagName).toBe("SELECT");
  });

  it("round-trips values: edits change only their field, cleared optional fields go away", async () => {
    const user = userEvent.setup();
    const initial = { method: "POST", url: "https://a", json: { email: "{{ input.email }}" }, follow_redirects: false };
    const form = setup(types.http_request.config_schema, initial);
    await user.clear(screen.getByLabelText("URL"));
    await user.type(screen.getByLabelText("URL"), "https://b");
    await user.selectOptions(screen.getByLabelText("Method"), "PUT");
    await user.type(screen.getByLabelText("Timeout (s)"), "12.5");
    await user.click(screen.getByLabelText("Follow redirects"));
    await user.selectOptions(screen.getByLabelText("Type"), "bearer");
    await screen.findByRole("option", { name: "crm" });
    await user.selectOptions(screen.getByLabelText("Credential"), "crm");
    expect(form.value()).toEqual({
      method: "PUT", url: "https://b", json: { email: "{{ input.email }}" }, follow_redirects: true, timeout: 12.5,
      auth: { type: "bearer", credential: "crm" },
    });
    await user.clear(screen.getByLabelText("Timeout (s)"));
    await user.selectOptions(screen.getByLabelText("Method"), "Default (GET)");
    expect(form.value()).not.toHaveProperty("timeout");
    expect(form.value()).not.toHaveProperty("method");
  });

  it("edits a list of scalars", async () => {
    const user = userEvent.setup();
    const form = setup(types.http_request.config_schema, { url: "u", success_status: [200] });
    const group = screen.getByRole("group", { name: "Success status codes (default: 2xx)" });
    await user.click(within(group).getByRole("button", { name: "+ Add item" }));
    const second = within(group).getByLabelText("Item 2");
    await user.clear(second);
    await user.type(second, "201");
    expect(form.value().success_status).toEqual([200, 201]);
    await user.click(within(group).getByRole("button", { name: "Remove item 1" }));
    expect(form.value().success_status).toEqual([201]);
  });

  it("edits a list of objects with nested fields", async () => {
    const user = userEvent.setup();
    const form = setup(types.conditional.config_schema, {});
    await user.click(screen.getByRole("button", { name: "+ Add item" }));
    await user.type(screen.getByLabelText("Branch"), "eu");
    expect(form.value()).toEqual({ cases: [{ branch: "eu" }] });
  });

  it("keeps a template in a typed field as an expression, and switches between fixed and expression", async () => {
    const user = userEvent.setup();
    // A boolean field (the conditional's condition was one before it took structured conditions too).
    const schema: JsonSchema = { type: "object", properties: { condition: { type: "boolean", title: "Condition" } } };
    const form = setup(schema, { condition: "{{ input.plan == 'pro' }}" });
    const condition = screen.getByLabelText("Condition");
    expect(condition).toHaveValue("{{ input.plan == 'pro' }}");
    await user.click(within(fieldOf("Condition")).getByRole("button", { name: "Fixed" }));
    expect(screen.getByLabelText("Condition")).toHaveAttribute("type", "checkbox");
    expect(form.value()).toEqual({});
    await user.click(screen.getByLabelText("Condition"));
    expect(form.value()).toEqual({ condition: true });
    await user.click(within(fieldOf("Condition")).getByRole("button", { name: "Expression" }));
    expect(form.value()).toEqual({ condition: "{{ true }}" });
  });

  it("offers a structured condition as a builder whose operators are the schema's", async () => {
    const user = userEvent.setup();
    const form = setup(types.conditional.config_schema, {});
    const builder = screen.getByRole("group", { name: "Condition" });
    const operator = within(builder).getByLabelText("Operator");
    const served = types.conditional.config_schema.properties!.condition.properties!.operator.enum;
    expect(within(operator).getAllByRole("option").map((o) => o.textContent)).toEqual(["— choose —", ...served!.map(String)]);
    await user.type(within(builder).getByLabelText("Field"), "customer.plan");
    await user.selectOptions(operator, "eq");
    await user.type(within(builder).getByLabelText("Value"), "pro");
    expect(form.value()).toEqual({ condition: { field: "customer.plan", operator: "eq", value: "pro" } });
    await user.clear(within(builder).getByLabelText("Value"));
    await user.type(within(builder).getByLabelText("Value"), "100");
    expect(form.value()).toEqual({ condition: { field: "customer.plan", operator: "eq", value: 100 } });
    // exists takes no value: the input goes, and so does the value.
    await user.selectOptions(operator, "exists");
    expect(within(builder).queryByLabelText("Value")).toBeNull();
    expect(form.value()).toEqual({ condition: { field: "customer.plan", operator: "exists" } });
  });

  it("opens a structured condition in the builder, with the server's problems next to its parts", () => {
    setup(types.conditional.config_schema, {
      condition: { field: "tags", operator: "in", value: ["a", "b"] },
    }, [{ field: "config.condition.value", message: "Must be a list or a string." }]);
    const builder = screen.getByRole("group", { name: "Condition" });
    expect(within(builder).getByLabelText("Field")).toHaveValue("tags");
    expect(within(builder).getByLabelText("Operator")).toHaveValue("in");
    expect(within(builder).getByLabelText("Value")).toHaveValue('["a","b"]');
    expect(within(builder).getByLabelText("Value")).toHaveAttribute("aria-invalid", "true");
    expect(within(builder).getByRole("alert")).toHaveTextContent("Must be a list or a string.");
  });

  it("keeps a saved value the builder hides (exists with false: absent), and says so", () => {
    setup(types.conditional.config_schema, { condition: { field: "coupon", operator: "exists", value: false } });
    expect(screen.queryByLabelText("Value")).toBeNull();
    expect(screen.getByTestId("condition-kept-value")).toHaveTextContent("With the saved value false");
    expect(screen.getByLabelText("Field")).toHaveAttribute("maxLength", "500"); // the server's bound
  });

  it("builds each case's condition too", async () => {
    const user = userEvent.setup();
    const form = setup(types.conditional.config_schema, { cases: [{ branch: "eu", when: { field: "region", operator: "eq", value: "eu" } }] });
    const when = screen.getByRole("group", { name: "When" });
    expect(within(when).getByLabelText("Field")).toHaveValue("region");
    await user.selectOptions(within(when).getByLabelText("Operator"), "ne");
    expect(form.value()).toEqual({ cases: [{ branch: "eu", when: { field: "region", operator: "ne", value: "eu" } }] });
  });

  it("switches between the builder and an expression, each kept for switching back", async () => {
    const user = userEvent.setup();
    const structured = { field: "plan", operator: "eq", value: "pro" };
    const form = setup(types.conditional.config_schema, { condition: structured });
    const conditionField = () => within(document.querySelector('[data-field="config.condition"]') as HTMLElement);
    await user.click(conditionField().getByRole("button", { name: "Expression" }));
    expect(screen.queryByRole("group", { name: "Condition" })).toBeNull();
    expect(form.value()).toEqual({ condition: "" });
    fireEvent.change(screen.getByLabelText("Condition"), { target: { value: "{{ input.plan == 'pro' }}" } });
    expect(form.value()).toEqual({ condition: "{{ input.plan == 'pro' }}" });
    await user.click(conditionField().getByRole("button", { name: "Builder" }));
    expect(form.value()).toEqual({ condition: structured });
    expect(screen.getByLabelText("Field")).toHaveValue("plan");
    await user.click(conditionField().getByRole("button", { name: "Expression" }));
    expect(form.value()).toEqual({ condition: "{{ input.plan == 'pro' }}" });
  });

  it("suggests fields from the sample input and upstream outputs", () => {
    render(
      <ConditionFieldsContext.Provider value={["plan", "customer.email", "steps.fetch.output.status_code"]}>
        <SchemaForm schema={types.conditional.config_schema} value={{}} onChange={() => {}} />
      </ConditionFieldsContext.Provider>,
    );
    const field = screen.getByLabelText("Field");
    const list = document.getElementById(field.getAttribute("list")!)!;
    expect([...list.querySelectorAll("option")].map((o) => o.getAttribute("value")))
      .toEqual(["plan", "customer.email", "steps.fetch.output.status_code"]);
  });

  it("shows a JSON parse error and keeps the last good value", () => {
    const form = setup(types.http_request.config_schema, { url: "u", headers: { A: "1" } });
    const headers = screen.getByLabelText("Headers");
    fireEvent.change(headers, { target: { value: '{"A": "1", ' } });
    expect(within(fieldOf("Headers")).getByRole("alert")).toHaveTextContent(/Not valid JSON/);
    expect(form.value().headers).toEqual({ A: "1" });
    fireEvent.change(headers, { target: { value: '{"B": "2"}' } });
    expect(form.value().headers).toEqual({ B: "2" });
    expect(within(fieldOf("Headers")).queryByRole("alert")).toBeNull();
  });

  it("shows each problem next to its field", () => {
    setup(types.http_request.config_schema, { auth: { type: "bearer" } }, [
      { field: "config.url", message: "is required" },
      { field: "config.auth.credential", message: "is required" },
      { field: "config.timeout", message: "must be at most 600" },
    ]);
    expect(within(fieldOf("URL")).getByRole("alert")).toHaveTextContent("is required");
    expect(fieldOf("URL")).toHaveClass("invalid");
    expect(within(fieldOf("Credential")).getByRole("alert")).toHaveTextContent("is required");
    expect(within(fieldOf("Timeout (s)")).getByRole("alert")).toHaveTextContent("must be at most 600");
    expect(within(fieldOf("Method")).queryByRole("alert")).toBeNull();
  });
  it("picks a credential among the user's, keeps a missing one marked, and has no expression toggle", async () => {
    const user = userEvent.setup();
    const form = setup(types.http_request.config_schema, { url: "u", auth: { type: "bearer", credential: "crm_token" } });
    const picker = screen.getByLabelText("Credential");
    await within(picker).findByRole("option", { name: "crm" });
    expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "— choose a credential —", "crm_token (not found)", "crm", "Create new…"]);
    expect(picker).toHaveValue("crm_token");
    expect(within(fieldOf("Credential")).queryByRole("button", { name: "Expression" })).toBeNull();
    // "Create new…" for the missing name offers that name
    await user.selectOptions(picker, "Create new…");
    expect(within(screen.getByRole("dialog", { name: "New credential" })).getByLabelText("Name")).toHaveValue("crm_token");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(form.value().auth).toEqual({ type: "bearer", credential: "crm_token" }); // cancelled: nothing changed
    await user.selectOptions(picker, "crm");
    expect(form.value().auth).toEqual({ type: "bearer", credential: "crm" });
  });

  it("creates a credential from the picker's Create new… and picks it", async () => {
    const user = userEvent.setup();
    const form = setup(types.sql.config_schema, { query: "SELECT 1" });
    await within(screen.getByLabelText("Credential")).findByRole("option", { name: "crm" });
    await user.selectOptions(screen.getByLabelText("Credential"), "Create new…");
    const dialog = screen.getByRole("dialog", { name: "New credential" });
    await user.type(within(dialog).getByLabelText("Name"), "orders_db");
    await user.type(within(dialog).getByLabelText("Value"), "postgresql://u:p@db/orders");
    await user.click(within(dialog).getByRole("button", { name: "Create credential" }));
    await waitFor(() => expect(form.value().credential).toBe("orders_db"));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(requests.find((r) => r.method === "POST")).toMatchObject({
      url: "/api/v1/credentials/", body: { name: "orders_db", value: "postgresql://u:p@db/orders" } });
    expect(screen.getByLabelText("Credential")).toHaveValue("orders_db");
    expect(form.value()).toEqual({ query: "SELECT 1", credential: "orders_db" }); // the value is never in the config
  });

  it("takes a credential field from the schema's mark, never from the field's name", () => {
    setup({ type: "object", properties: { credential: { type: "string", title: "Credential" },
                                           token: { type: "string", title: "Token", format: "credential" } } });
    expect(screen.getByLabelText("Credential").tagName).toBe("INPUT");
    expect(screen.getByLabelText("Token").tagName).toBe("SELECT");
  });

  it("removes an optional group whole; a required one has no Remove", async () => {
    const user = userEvent.setup();
    const form = setup(types.http_request.config_schema, { url: "u", auth: { type: "bearer", credential: "crm" } });
    await user.click(screen.getByRole("button", { name: "Remove Authentication (from a stored credential)" }));
    expect(form.value()).toEqual({ url: "u" });
    // left out, it has nothing to remove
    expect(screen.queryByRole("button", { name: /^Remove Authentication/ })).toBeNull();
    cleanup();
    setup({ type: "object", required: ["target"], properties: {
      target: { type: "object", title: "Target", properties: { host: { type: "string" } } } } }, { target: { host: "h" } });
    expect(screen.queryByRole("button", { name: "Remove Target" })).toBeNull();
  });

  it("shows a warning next to its field, apart from errors", () => {
    setup(types.http_request.config_schema, { url: "u", auth: { type: "bearer", credential: "gone" } }, [
      { field: "config.auth.credential", message: "no credential named 'gone'", level: "warning" },
      { field: "config.url", message: "is too short" },
    ]);
    const credential = fieldOf("Credential");
    expect(within(credential).getByRole("status")).toHaveTextContent("no credential named 'gone'");
    expect(within(credential).queryByRole("alert")).toBeNull();
    expect(credential).toHaveClass("warned");
    expect(credential).not.toHaveClass("invalid");
    expect(fieldOf("URL")).toHaveClass("invalid");
  });
});
