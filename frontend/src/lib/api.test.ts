import { csrfToken, withQuery } from "./api";
import { liveUrl } from "@/hooks/use-live-events";

describe("api helpers", () => {
  it("reads Django's CSRF cookie among others", () => {
    expect(csrfToken("sessionid=abc; csrftoken=T0K%3Den; theme=dark")).toBe("T0K=en");
    expect(csrfToken("sessionid=abc")).toBe("");
  });

  it("builds query strings, skipping empty values and repeating lists", () => {
    expect(withQuery("executions/", { status: ["failed", "running"], workflow: "", limit: 50 })).toBe(
      "executions/?status=failed&status=running&limit=50",
    );
    expect(withQuery("executions/?a=1", { b: true })).toBe("executions/?a=1&b=true");
  });

  it("points WebSockets at the page's own origin", () => {
    expect(liveUrl("/ws/executions/1/", { protocol: "https:", host: "flow.example" })).toBe(
      "wss://flow.example/ws/executions/1/",
    );
    expect(liveUrl("ws/executions/", { protocol: "http:", host: "127.0.0.1:8000" })).toBe(
      "ws://127.0.0.1:8000/ws/executions/",
    );
  });
});
