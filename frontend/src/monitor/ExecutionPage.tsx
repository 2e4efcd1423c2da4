export function ExecutionPage() {
  return <div className="page-body">ExecutionPage</div>;
}
