import { Controller, Get, Headers, Next, Param, Res } from '@nestjs/common';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NextFunction, Response } from 'express';
import { Public } from '../../access/public.decorator.js';
import { DomainError } from '../../common/domain-error.js';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/**
 * The GraphQL IDE's files, all served by the app itself from installed packages: the page must work
 * in an air-gapped hospital network, so nothing comes from a CDN. Only these names are served.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: path.join(packageDir('react'), 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { file: path.join(packageDir('react-dom'), 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { file: path.join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.css': { file: path.join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css' },
};

/** Starts GraphiQL against this server's /graphql (served as a file: the page's CSP allows no inline script). */
const IDE_SCRIPT = `// Starts GraphiQL against this server's /graphql. Loaded by the IDE page after React and GraphiQL.
/* global React, ReactDOM, GraphiQL, document, localStorage */
(function start() {
  const headers = {};
  const token = localStorage.getItem('healthledger:accessToken');
  if (token) headers.Authorization = 'Bearer ' + token;
  const fetcher = GraphiQL.createFetcher({ url: '/graphql', headers });
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery: '# Welcome to HealthLedger.\\n# Paste an access token into the Headers tab as\\n# { "Authorization": "Bearer <token>" }\\n\\nquery Health {\\n  health {\\n    status\\n  }\\n}\\n',
    }),
  );
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HealthLedger GraphQL</title>
<link rel="stylesheet" href="/graphql/ide/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading the GraphQL IDE…</div>
<script src="/graphql/ide/react.js"></script>
<script src="/graphql/ide/react-dom.js"></script>
<script src="/graphql/ide/graphiql.js"></script>
<script src="/graphql/ide/ide.js"></script>
</body>
</html>`;

/** Scripts and styles from this origin only; the IDE talks to this origin only. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

@Controller('graphql')
export class GraphqlIdeController {
  /**
   * A browser asking for /graphql gets the IDE; every other GET (a query in the URL) goes on to
   * Apollo. The page holds no data: it calls the API with whatever token the user pastes.
   */
  @Get()
  @Public('static IDE page; the API it calls enforces access itself')
  page(@Headers('accept') accept: string | undefined, @Res() res: Response, @Next() next: NextFunction) {
    if (!accept?.includes('text/html')) return next();
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(PAGE);
  }

  @Get('ide/:asset')
  @Public('static IDE assets')
  asset(@Param('asset') name: string, @Res() res: Response) {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (name === 'ide.js') return res.type('text/javascript').send(IDE_SCRIPT);
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new DomainError('NOT_FOUND', `No IDE asset named ${name}`);
    res.type(asset.type).sendFile(asset.file);
  }
}
