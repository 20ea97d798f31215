import { GRAPHQL_ERROR_CODES } from '../../schema/error-codes.js';
import { html, type SafeHtml } from '../web/html.js';

export interface GraphQLDocsLimits {
  maxDepth: number;
  maxCost: number;
  rateLimitPerHour: number;
}

/**
 * The GraphQL part of `GET /docs`: how a client authenticates, what it may spend, how it pages and what its errors
 * mean. The field-by-field reference is the schema itself (GraphiQL's documentation pane, or `/schema.graphql`); the
 * error table is generated from schema/error-codes.ts, so it cannot drift from what the server sends.
 */
export function graphqlDocsSection(limits: GraphQLDocsLimits): SafeHtml {
  return html`<h2 id="graphql">GraphQL</h2>
<p>The REST API's data and rules are also served as one GraphQL schema at <code>POST /graphql</code> (or
<code>GET /graphql?query=…</code> for queries). Explore it in <a href="/graphql">GraphiQL</a>, served by this server
with no outside resources; the schema as SDL is at <a href="/schema.graphql">/schema.graphql</a>, the same file as
<code>schema.graphql</code> in the repository.</p>

<h3 id="graphql-auth">Authentication and scopes</h3>
<p>Send the same OAuth access token as for REST: <code>Authorization: Bearer &lt;token&gt;</code>. Without a token,
public data can be read. Fields and mutations that need more say so in their description: <code>flattr</code>
(flattring, subscriptions), <code>thing</code> (creating, changing and deleting things), <code>email</code> and
<code>extendedread</code> (the caller's own e-mail address and registration date), <code>stats</code> (the
<code>stats</code> graph, for internal dashboards). A missing token answers <code>UNAUTHENTICATED</code>, a missing
scope <code>FORBIDDEN</code> with <code>extensions.requiredScope</code>; an invalid token is refused with HTTP 401 before
anything runs.</p>

<h3 id="graphql-limits">Rate limits and cost</h3>
<p>GraphQL requests share the caller's hourly REST budget (${limits.rateLimitPerHour} points per token, or per
address without one). A request weighs <code>1 + floor(cost / 1000)</code> points; every answer carries the budget in
<code>extensions.rateLimit</code> (<code>limit</code>, <code>remaining</code>, <code>current</code>,
<code>reset</code>), and a spent budget answers HTTP 429 with <code>RATE_LIMITED</code>.</p>
<p>Each field costs 1 per parent item it is resolved on; a list or connection multiplies what is below it by its
<code>first</code> or <code>last</code> (30 when absent), a page size given as a variable by the value sent. A query
deeper than ${limits.maxDepth} levels is refused with <code>QUERY_TOO_DEEP</code>, one costing more than
${limits.maxCost} with <code>QUERY_TOO_COSTLY</code>, before anything runs. Introspection (what GraphiQL and code
generators send) is measured against its own, larger bounds, so the standard introspection query runs, anonymously
too.</p>

<h3 id="graphql-pagination">Pagination</h3>
<p>Lists are Relay cursor connections: pass <code>first</code> and <code>after</code> to go forward, <code>last</code>
and <code>before</code> to go back (at most 100 per page). Every connection has <code>nodes</code> (or
<code>edges { cursor node }</code>), <code>pageInfo { hasNextPage hasPreviousPage startCursor endCursor }</code> and
<code>totalCount</code>. Cursors are opaque and hold the item's position in the list's order, so a page read after a
cursor neither repeats nor skips items that existed at both reads, whatever was added or removed in between; an empty
page has null cursors. Search results are ordered by score, and their pages may shift when results change between
reads.</p>
<p>Every object with an identity implements <code>Node</code>: its <code>id</code> is a global id that
<code>node(id:)</code> and <code>nodes(ids:)</code> load, and that every mutation argument naming an object takes.
<code>databaseId</code> is the number the REST API uses.</p>

<h3 id="graphql-errors">Errors</h3>
<p>Every entry of <code>errors[]</code> has an <code>extensions.code</code> from this list. A write refused by a rule
of the service (already flattred this month, no means, too many tags, …) is not an error but data: the mutation
returns its <code>MutationError</code> member with <code>code</code>, <code>message</code> and <code>field</code>, the
path of the input at fault (for example <code>["input", "title"]</code>). Nothing was changed.</p>
<div class="table-scroll"><table>
<thead><tr><th scope="col">Code</th><th scope="col">Meaning</th></tr></thead>
<tbody>
${Object.entries(GRAPHQL_ERROR_CODES).map(([code, meaning]) => html`<tr><td><code>${code}</code></td><td>${meaning}</td></tr>`)}
</tbody>
</table></div>

<h3 id="graphql-persisted">Persisted queries and typed clients</h3>
<p>Automatic persisted queries (Apollo's protocol) are supported: send <code>extensions.persistedQuery.sha256Hash</code>
alone, and send the query with it once when the answer is <code>PERSISTED_QUERY_NOT_FOUND</code>; after that a
<code>GET</code> with the hash alone works. Operators can restrict the endpoint to an allow-list of documents
(<code>PERSISTED_QUERY_NOT_ALLOWED</code> for anything else). To generate a typed client, point a code generator (for
example graphql-codegen) at <code>/graphql</code> or at <code>/schema.graphql</code>.</p>

<h3 id="graphql-live">Live updates (subscriptions)</h3>
<p>The <code>Subscription</code> root (<code>flattrCreated</code>, <code>thingChanged</code>, <code>statsTotals</code>)
is served over Server-Sent Events: POST <code>/graphql</code> with <code>Accept: text/event-stream</code> (the
graphql-sse "distinct connections" mode), with the same token as for queries. Events are sent only for committed
writes and carry the same object types as queries; visibility and scopes are checked when the subscription starts
and for every event. Opening one counts like a query, and while it stays open it counts one more request per period the server sets (a
minute by default).
A stream the server ends gets a final event with a code (<code>SLOW_CONSUMER</code>, <code>TOKEN_REVOKED</code>,
<code>SERVER_SHUTTING_DOWN</code>, <code>RATE_LIMITED</code>); too many open ones are refused with
<code>SUBSCRIPTION_LIMIT</code>.</p>
<pre tabindex="0" aria-label="Example: a subscription with curl"><code>curl -N -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \\
  -d '{"query":"subscription { flattrCreated { flattr { id } thing { id flattrCount } } }"}' \\
  http://localhost:3000/graphql</code></pre>`;
}
