export function WorkflowsPage() {
  return <div className="page-body">WorkflowsPage</div>;
}
