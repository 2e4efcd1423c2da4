import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { ErrorDetails } from "./ErrorDetails";

describe("ErrorDetails", () => {
  it("shows an HTTP step's response status, body and headers", () => {
    render(<ErrorDetails details={{ type: "StepError", retryable: true, status_code: 500, body: "the CRM is down",
                                    headers: { "content-type": "text/plain" } }} />);
    expect(screen.getByTestId("error-status")).toHaveTextContent("500");
    expect(screen.getByTestId("error-body")).toHaveTextContent("the CRM is down");
    expect(screen.getByText("Response headers (1)")).toBeInTheDocument();
    expect(screen.getByText("content-type")).toBeInTheDocument();
  });

  it("shows nothing when there are no details beyond the type", () => {
    const { container } = render(<ErrorDetails details={{ type: "StepTimeout", retryable: true }} />);
    expect(container).toBeEmptyDOMElement();
  });
});
