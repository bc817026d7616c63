import { defineConfig } from "vite";

// `npm run dev` serves the page with hot reload and passes the API through to a running
// `loyalty serve` (LOYALTY_API, default http://127.0.0.1:8080); `npm run build` writes dist/,
// which `loyalty serve` serves at /.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: { "/v1": process.env.LOYALTY_API ?? "http://127.0.0.1:8080" },
  },
});
