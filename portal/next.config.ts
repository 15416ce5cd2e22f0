import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const portalDir = path.dirname(fileURLToPath(import.meta.url));

/**
 * A static export (portal/out) that the NestJS app serves at `/`: no Node server of Next's own runs.
 * `trailingSlash` writes every page as `<route>/index.html`, so the app's static middleware finds a
 * page for `/patient/records/` without rewriting rules.
 */
const config: NextConfig = {
  output: 'export',
  trailingSlash: true,
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  // The workspace's packages are hoisted to the repository's node_modules.
  turbopack: { root: path.join(portalDir, '..') },
};

export default config;
