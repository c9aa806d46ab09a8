// graphql-http's server audit (GraphQL over HTTP spec conformance) against the gateway at
// AUDIT_URL, with AUDIT_TOKEN as the bearer token of every request. Prints the results as JSON.
import { serverAudits } from "graphql-http";

const url = process.env.AUDIT_URL;
const authorization = `Bearer ${process.env.AUDIT_TOKEN}`;

function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", authorization);
  return fetch(input, { ...init, headers });
}

const results = await Promise.all(serverAudits({ url, fetchFn: fetchWithToken }).map((audit) => audit.fn()));
console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason }))));
