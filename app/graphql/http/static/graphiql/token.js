// instance-gateway's GraphiQL on a gateway that gives no development token (MongoDB, or a
// configured key): GraphiQL's first introspection is refused, since it needs a token as any
// request does. The schema is fetched again once the Headers tab has a bearer token that it has
// not been tried with, until one works.
"use strict";

window.useSchemaOnceTokenIsThere = (() => {
  // The token of the Headers tab's Authorization header (any case), or null.
  function bearerToken(headers) {
    let parsed;
    try {
      parsed = JSON.parse(headers || "null");
    } catch {
      return null; // being typed
    }
    if (typeof parsed !== "object" || parsed === null) {
      return null;
    }
    const [, value] = Object.entries(parsed).find(([name]) => name.toLowerCase() === "authorization") || [];
    if (typeof value !== "string") {
      return null;
    }
    return /^bearer\s+(\S+)$/i.exec(value.trim())?.[1] ?? null;
  }

  // GraphiQL's props `fetcher`, `onEditHeaders` and `onSchemaChange`, for a page whose Headers
  // tab starts with `initialHeaders` (a JSON text, or null).
  return function useSchemaOnceTokenIsThere(gatewayFetcher, initialHeaders) {
    const [fetcher, setFetcher] = React.useState(() => gatewayFetcher);
    const loaded = React.useRef(false);
    const tried = React.useRef(bearerToken(initialHeaders));
    return {
      fetcher,
      onSchemaChange: () => {
        loaded.current = true;
      },
      onEditHeaders: (headers) => {
        const token = bearerToken(headers);
        if (!loaded.current && token !== null && token !== tried.current) {
          tried.current = token;
          // GraphiQL introspects again whenever its fetcher changes; this one answers as before.
          setFetcher(() => (params, options) => gatewayFetcher(params, options));
        }
      },
    };
  };
})();
