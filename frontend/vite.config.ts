/// <reference types="vitest/config" />
// Vite builds the app into dist/ (served by Django at /); `npm run dev` proxies the API and the
// WebSockets to the Django server (make run / make web) so both share one origin in development.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const backend = process.env.FLOWPILOT_BACKEND ?? "http://127.0.0.1:8000";
// Django checks a POST's Origin (CSRF) and a WebSocket's Origin against its own host: through the
// proxy, the browser's origin is Vite's, so the proxied requests present the backend's instead.
const toBackend = { target: backend, changeOrigin: true, headers: { origin: backend } };

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": new URL("./src", import.meta.url).pathname } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    port: 5173,
    proxy: {
      "/api": toBackend,
      "/admin": toBackend,
      "/static": toBackend,
      "/hooks": toBackend,
      "/approval-links": toBackend,
      "/health": toBackend,
      "/ws": { ...toBackend, target: backend.replace(/^http/, "ws"), ws: true },
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
