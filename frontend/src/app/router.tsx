/** The app's pages. Django serves index.html for every one of these paths. */
import { createBrowserRouter, Navigate } from "react-router";

import { AlertsPage } from "@/alerts/AlertsPage";
import { CredentialsPage } from "@/credentials/CredentialsPage";
import { ApprovalsPage } from "@/approvals/ApprovalsPage";
import { DashboardPage } from "@/dashboard/DashboardPage";
import { DeadLettersPage } from "@/deadletters/DeadLettersPage";
import { DesignerPage } from "@/designer/DesignerPage";
import { WorkflowsPage } from "@/designer/WorkflowsPage";
import { ExecutionPage } from "@/monitor/ExecutionPage";
import { ExecutionsPage } from "@/monitor/ExecutionsPage";
import { LoginPage } from "@/pages/LoginPage";
import { NotFoundPage } from "@/pages/NotFoundPage";

import { Layout } from "./Layout";

export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  {
    element: <Layout />,
    children: [
      { path: "/", element: <Navigate to="/workflows" replace /> },
      { path: "/workflows", element: <WorkflowsPage /> },
      { path: "/workflows/:workflowId", element: <DesignerPage /> },
      { path: "/executions", element: <ExecutionsPage /> },
      { path: "/executions/:executionId", element: <ExecutionPage /> },
      { path: "/dashboard", element: <DashboardPage /> },
      { path: "/alerts", element: <AlertsPage /> },
      { path: "/credentials", element: <CredentialsPage /> },
      { path: "/approvals", element: <ApprovalsPage /> },
      { path: "/dead-letters", element: <DeadLettersPage /> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
