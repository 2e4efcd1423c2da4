/** The executions list's filters: status chips (several at once), workflow, trigger, a date range,
 * and a search field's value (the runs of patient +91123). */
import { useEffect, useState, type FormEvent } from "react";

import { EXECUTION_STATUSES } from "@/lib/types";

import { NO_FILTERS, TRIGGERS, isFiltered, type ListFilters } from "./list-filters";
import { useWorkflowOptions } from "./queries";

interface Props {
  filters: ListFilters;
  onChange: (next: ListFilters) => void;
}

export function ExecutionsFilterBar({ filters, onChange }: Props) {
  const workflows = useWorkflowOptions();
  // Any change of filter goes back to the first page.
  const set = (patch: Partial<ListFilters>) => onChange({ ...filters, ...patch, page: 1 });
  // The search pair is typed first and applied together (Enter or Search): a name alone filters nothing.
  const [searchName, setSearchName] = useState(filters.searchName);
  const [searchValue, setSearchValue] = useState(filters.searchValue);
  useEffect(() => {
    setSearchName(filters.searchName);
    setSearchValue(filters.searchValue);
  }, [filters.searchName, filters.searchValue]);
  const applySearch = (event: FormEvent) => {
    event.preventDefault();
    const name = searchName.trim();
    set(name && searchValue ? { searchName: name, searchValue } : { searchName: "", searchValue: "" });
  };

  return (
    <div className="monitor-filters card" role="search" aria-label="Filter executions">
      <div className="monitor-filters-row">
        <span className="monitor-filters-label">Status</span>
        <div className="monitor-filter-group" role="group" aria-label="Status">
          {EXECUTION_STATUSES.map((status) => {
            const on = filters.status.includes(status);
            return (
              <button key={status} type="button" aria-pressed={on}
                      className={`monitor-chip status-${status}${on ? " monitor-chip-on" : ""}`}
                      onClick={() => set({ status: on ? filters.status.filter((s) => s !== status) : [...filters.status, status] })}>
                <span className="monitor-chip-dot" aria-hidden="true" />
                {status}
              </button>
            );
          })}
        </div>
        <button type="button" className="btn btn-ghost btn-sm monitor-filter-clear" disabled={!isFiltered(filters)}
                onClick={() => onChange(NO_FILTERS)}>
          Clear filters
        </button>
      </div>
      <div className="monitor-filters-row">
        <label className="monitor-filter">
          <span>Workflow</span>
          <select value={filters.workflow} onChange={(event) => set({ workflow: event.target.value })}>
            <option value="">All workflows</option>
            {workflows.data?.map((workflow) => <option key={workflow.id} value={workflow.id}>{workflow.name}</option>)}
          </select>
        </label>
        <label className="monitor-filter monitor-filter-narrow">
          <span>Trigger</span>
          <select value={filters.trigger} onChange={(event) => set({ trigger: event.target.value as ListFilters["trigger"] })}>
            <option value="">Any</option>
            {TRIGGERS.map((trigger) => <option key={trigger} value={trigger}>{trigger}</option>)}
          </select>
        </label>
        <label className="monitor-filter monitor-filter-date">
          <span>From</span>
          <input type="date" value={filters.from} max={filters.to || undefined} onChange={(event) => set({ from: event.target.value })} />
        </label>
        <label className="monitor-filter monitor-filter-date">
          <span>To</span>
          <input type="date" value={filters.to} min={filters.from || undefined} onChange={(event) => set({ to: event.target.value })} />
        </label>
      </div>
      <form className="monitor-filters-row" onSubmit={applySearch} aria-label="Search by a search field">
        <label className="monitor-filter monitor-filter-narrow">
          <span>Search field</span>
          <input type="text" value={searchName} placeholder="phone" maxLength={50} spellCheck={false}
                 onChange={(event) => setSearchName(event.target.value)} />
        </label>
        <label className="monitor-filter">
          <span>Value (exact)</span>
          <input type="search" value={searchValue} placeholder="+91123" maxLength={200}
                 onChange={(event) => setSearchValue(event.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm">Search</button>
      </form>
    </div>
  );
}
