export function ExecutionsPage() {
  return <div className="page-body">ExecutionsPage</div>;
}
