import { escapeHtml, html, raw, type SafeHtml } from '../web/html.js';
import type { OpenApiDocument } from './openapi.js';
import { graphqlDocsSection, type GraphQLDocsLimits } from './graphql-docs.js';
import type { Schema } from './openapi-schemas.js';

/**
 * `GET /docs`: a readable API reference rendered on the server from the OpenAPI document: no script at all, every
 * value escaped (the `html` tag), so the strict CSP of the website applies unchanged.
 */

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

type Components = { schemas: Record<string, Schema>; parameters: Record<string, Schema>; headers: Record<string, Schema> };

/** `code` and **bold** of the descriptions, on escaped text. */
function prose(text: unknown): SafeHtml {
  const escaped = escapeHtml(text);
  return raw(
    escaped
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .split(/\n{2,}/)
      .map((paragraph) => `<p>${paragraph}</p>`)
      .join(''),
  );
}

function inline(text: unknown): SafeHtml {
  return raw(escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>'));
}

function refName(schema: Schema): string | null {
  const target = schema.$ref;
  return typeof target === 'string' ? target.slice(target.lastIndexOf('/') + 1) : null;
}

/** A short type expression, with links to component schemas. */
function typeOf(schema: Schema | undefined): SafeHtml {
  if (!schema) return html`any`;
  const name = refName(schema);
  if (name) return html`<a href="#schema-${name}">${name}</a>`;
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return html`${(options as Schema[]).map((s, i) => html`${i ? ' | ' : ''}${typeOf(s)}`)}`;
  }
  if (schema.const !== undefined) return html`<code>${JSON.stringify(schema.const)}</code>`;
  if (schema.type === 'array') return html`array of ${typeOf(schema.items as Schema)}`;
  const enumValues = Array.isArray(schema.enum) ? html` (${(schema.enum as unknown[]).map((v, i) => html`${i ? ', ' : ''}<code>${String(v)}</code>`)})` : '';
  const format = schema.format ? ` (${String(schema.format)})` : '';
  return html`${String(schema.type ?? 'any')}${format}${enumValues}`;
}

function resolveParameter(parameter: Schema, components: Components): Schema {
  const name = refName(parameter);
  return name ? (components.parameters[name] ?? parameter) : parameter;
}

function operationSection(path: string, method: string, operation: Schema, components: Components): SafeHtml {
  const parameters = ((operation.parameters as Schema[]) ?? []).map((p) => resolveParameter(p, components));
  const body = operation.requestBody as Schema | undefined;
  const bodySchema = body ? (Object.values((body.content as Record<string, { schema: Schema }>) ?? {})[0]?.schema ?? undefined) : undefined;
  const responses = Object.entries((operation.responses as Record<string, Schema>) ?? {});
  const routes = (operation['x-flattr-routes'] as string[]) ?? [];
  return html`<section class="operation" id="${String(operation.operationId)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${path}</code></h3>
<p class="summary">${inline(operation.summary)}</p>
${prose(operation.description ?? '')}
<p class="meta">Operation <code>${String(operation.operationId)}</code> · routes: ${routes.join(', ')}</p>
${
  parameters.length
    ? html`<h4>Parameters</h4><div class="table-scroll"><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>
${parameters.map(
  (p) =>
    html`<tr><td><code>${String(p.name)}</code>${p.required ? html` <span class="required">required</span>` : ''}</td><td>${String(p.in)}</td><td>${typeOf(p.schema as Schema)}</td><td>${inline(p.description ?? '')}</td></tr>`,
)}
</tbody></table></div>`
    : ''
}
${
  body
    ? html`<h4>Request body</h4><p>${typeOf(bodySchema)} as ${Object.keys((body.content as object) ?? {}).map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`)}. ${inline(body.description ?? '')}</p>`
    : ''
}
<h4>Responses</h4>
<div class="table-scroll"><table><thead><tr><th>Status</th><th>Description</th><th>Body</th></tr></thead><tbody>
${responses.map(([status, response]) => {
  const content = Object.entries((response.content as Record<string, { schema: Schema }>) ?? {});
  return html`<tr><td class="status">${status}</td><td>${inline(response.description ?? '')}</td><td>${content.map(
    ([type, media], i) => html`${i ? html`<br>` : ''}<code>${type}</code>: ${typeOf(media.schema)}`,
  )}</td></tr>`;
})}
</tbody></table></div>
</section>`;
}

function schemaSection(name: string, schema: Schema): SafeHtml {
  const properties = Object.entries((schema.properties as Record<string, Schema>) ?? {});
  const required = new Set((schema.required as string[]) ?? []);
  return html`<section class="schema" id="schema-${name}">
<h3>${name}</h3>
${prose(schema.description ?? '')}
${
  properties.length
    ? html`<div class="table-scroll"><table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>
${properties.map(
  ([field, property]) =>
    html`<tr><td><code>${field}</code>${required.has(field) ? '' : html` <span class="optional">optional</span>`}</td><td>${typeOf(property)}</td><td>${inline(property.description ?? '')}</td></tr>`,
)}
</tbody></table></div>`
    : html`<p>Type: ${typeOf(schema)}</p>`
}
</section>`;
}

const STYLE = `
  *, *::before, *::after { box-sizing: border-box; }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; overflow-wrap: break-word; }
  nav ul { columns: 2; }
  @media (max-width: 40rem) { nav ul { columns: 1; padding-left: 1.25rem; } }
  code { background: #f4f4f4; padding: .05rem .25rem; overflow-wrap: anywhere; }
  pre { overflow-x: auto; max-width: 100%; }
  .table-scroll { overflow-x: auto; max-width: 100%; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: 14px; }
  th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  th { background: #fafafa; }
  .operation, .schema { border-top: 1px solid #ddd; padding-top: .5rem; margin-top: 1.5rem; }
  .method { display: inline-block; min-width: 4.5rem; text-align: center; color: #fff; border-radius: 3px; font-size: 13px; padding: .1rem .4rem; }
  .get { background: #2b6cb0; } .post { background: #2f855a; } .put { background: #975a16; } .patch { background: #805ad5; } .delete { background: #c53030; }
  .required { color: #c53030; font-size: 12px; } .optional { color: #595959; font-size: 12px; }
  .meta { color: #595959; font-size: 13px; }
  .status { font-weight: 600; }
`;

export function renderDocsPage(document: OpenApiDocument, graphqlLimits: GraphQLDocsLimits): string {
  const info = document.info as { title: string; version: string; description?: string };
  const components = document.components as Components;
  const tags = (document.tags as { name: string; description?: string }[]) ?? [];
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, operation: item[method]! })),
  );
  const servers = (document.servers as { url: string }[]) ?? [];
  const body = html`<h1>${info.title}</h1>
<p class="meta">Version ${info.version} · OpenAPI ${document.openapi} · base URL ${servers.map((s) => html`<code>${s.url}</code>`)} ·
<a href="/rest/v2/openapi.json">openapi.json</a> · GraphQL: <a href="#graphql">guide</a>, <a href="/graphql">GraphiQL</a>, <a href="/schema.graphql">schema.graphql</a></p>
${prose(info.description ?? '')}
<nav aria-labelledby="operations"><h2 id="operations">Operations</h2><ul>
${tags.map(
  (tag) =>
    html`<li>${tag.name}<ul>${operations
      .filter((o) => ((o.operation.tags as string[]) ?? []).includes(tag.name))
      .map((o) => html`<li><a href="#${String(o.operation.operationId)}">${o.method.toUpperCase()} ${o.path}</a></li>`)}</ul></li>`,
)}
</ul></nav>
${tags.map(
  (tag) => html`<h2 id="tag-${tag.name.replace(/\s+/g, '-')}">${tag.name}</h2>${prose(tag.description ?? '')}
${operations.filter((o) => ((o.operation.tags as string[]) ?? []).includes(tag.name)).map((o) => operationSection(o.path, o.method, o.operation, components))}`,
)}
<h2 id="schemas">Objects</h2>
${Object.entries(components.schemas).map(([name, schema]) => schemaSection(name, schema))}
${graphqlDocsSection(graphqlLimits)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} · API reference</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.value}
</main>
</body>
</html>
`;
}
