export function DesignerPage() {
  return <div className="page-body">DesignerPage</div>;
}
