import { filtersToParams, filtersToQuery, isFiltered, parseFilters } from "./list-filters";

describe("list filters", () => {
  it("reads the URL, ignoring values the API would refuse", () => {
    const filters = parseFilters(new URLSearchParams("status=failed&status=bogus&status=running&trigger=nope&from=2026-13&to=2026-02-03&page=-2"));
    expect(filters).toEqual({ status: ["failed", "running"], workflow: "", trigger: "", from: "", to: "2026-02-03",
                              searchName: "", searchValue: "", page: 1 });
  });

  it("round-trips through the URL, leaving defaults out", () => {
    const filters = { status: ["failed" as const], workflow: "w1", trigger: "webhook" as const, from: "2026-02-01", to: "",
                      searchName: "", searchValue: "", page: 3 };
    expect(filtersToParams(filters).toString()).toBe("status=failed&workflow=w1&trigger=webhook&from=2026-02-01&page=3");
    expect(parseFilters(filtersToParams(filters))).toEqual(filters);
    expect(filtersToParams(parseFilters(new URLSearchParams())).toString()).toBe("");
  });

  it("becomes the API query: an offset for the page, instants for whole local days", () => {
    const query = filtersToQuery({ status: ["failed"], workflow: "", trigger: "schedule", from: "2026-02-01", to: "2026-02-01",
                                   searchName: "", searchValue: "", page: 2 }, 25);
    expect(query).toMatchObject({ limit: 25, offset: 25, status: ["failed"], triggered_by: "schedule" });
    expect(Date.parse(query.created_before as string) - Date.parse(query.created_after as string)).toBe(24 * 3600 * 1000);
    expect(new Date(query.created_after as string).getHours()).toBe(0);
  });

  it("carries a search field's value as search.<name>, in the URL and in the API query", () => {
    const filters = parseFilters(new URLSearchParams("search.phone=%2B91123&status=failed"));
    expect(filters).toMatchObject({ searchName: "phone", searchValue: "+91123", status: ["failed"] });
    expect(filtersToParams(filters).toString()).toBe("status=failed&search.phone=%2B91123");
    expect(filtersToQuery(filters)).toMatchObject({ "search.phone": "+91123", status: ["failed"] });
    expect(isFiltered(filters)).toBe(true);
    expect(isFiltered(parseFilters(new URLSearchParams("search.phone=")))).toBe(false);  // a name alone is no filter
  });
});
