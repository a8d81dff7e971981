// The API docs page: Swagger UI on the OpenAPI document, started from a file (no inline script under the CSP).
window.addEventListener('load', () => {
  'use strict';
  window.ui = window.SwaggerUIBundle({
    url: '/api/docs-json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    // BaseLayout: no top bar with a box to load other documents. Plain code blocks: the highlighter styles with
    // style attributes, which the Content-Security-Policy refuses.
    layout: 'BaseLayout',
    syntaxHighlight: false,
  });
});
