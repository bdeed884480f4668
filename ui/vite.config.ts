import { defineConfig } from 'vite';

/**
 * The dashboard is served by inferd itself at /ui/ under a strict CSP
 * (script-src 'self', style-src 'self'), so the build must emit only external
 * files: hashed JS and CSS, no inline script or style. INFERD_URL lets
 * `vite` / `vite preview` proxy the API to a running inferd during development.
 */
const target = process.env.INFERD_URL ?? 'http://127.0.0.1:8080';
const proxy = Object.fromEntries(['/apis', '/v2', '/v1', '/openai'].map((p) => [p, { target, changeOrigin: false }]));

export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  // Preact's automatic JSX runtime (no @preact/preset-vite here).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    // The polyfill would be bundled code, not inline, but the targets all support modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
  server: { proxy },
  preview: { proxy },
});
