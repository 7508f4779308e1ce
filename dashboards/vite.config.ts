// Vite build of the citizen portal: dashboards/index.html + dashboards/src → dashboards/dist, which
// the API serves at `/`. `npm run build:portal` drives it (dashboards/build.mjs); `vite` alone is
// the dev server, proxying the API and its WebSockets to a running quantrac (QUANTRAC_URL).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const api = process.env.QUANTRAC_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // dashboards/public is the API's fallback page when nothing is built; it must not be copied
  // over the built index.html.
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': api,
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true },
    },
  },
});
