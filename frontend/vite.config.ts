/// <reference types="vitest/config" />
// Vite builds the app into dist/ (served by Django at /); `npm run dev` proxies the API and the
// WebSockets to the Django server (make run / make web) so both share one origin in development.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const backend = process.env.FLOWPILOT_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": new URL("./src", import.meta.url).pathname } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    port: 5173,
    proxy: {
      "/api": backend,
      "/admin": backend,
      "/static": backend,
      "/hooks": backend,
      "/health": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
