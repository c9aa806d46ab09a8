// instance-gateway's GraphiQL fetcher. Queries and mutations go over HTTP POST, as
// GraphiQL.createFetcher sends them. Subscriptions go over a WebSocket of their own, with the
// graphql-transport-ws protocol: the Headers tab's headers are the connection_init payload,
// where the gateway takes the token from (a browser cannot set headers on a WebSocket).
"use strict";

window.createGatewayFetcher = (() => {
  const PROTOCOL = "graphql-transport-ws";
  const OPERATION_ID = "1"; // one operation per connection

  // The operation that runs, as the server picks it: the one named, or the only one. The text
  // sent is parsed rather than GraphiQL's documentAST, which trails the editor by a moment.
  function isSubscription(params) {
    let document;
    try {
      document = GraphiQL.GraphQL.parse(params.query);
    } catch {
      return false; // the server answers with the syntax error
    }
    const operation = GraphiQL.GraphQL.getOperationAST(document, params.operationName || undefined);
    return operation?.operation === "subscription";
  }

  // GraphiQL shows an error passed to sink.error as {"errors": [...]}: a list as it is, an object
  // as its one item (an Error would show its stack too).
  function closedError(event) {
    const reason = event.reason ? `: ${event.reason}` : "";
    return { message: `The subscription's connection closed with code ${event.code}${reason}` };
  }

  // An Observable as GraphiQL takes it: subscribe(sink) starts the operation, and the returned
  // unsubscribe() (GraphiQL's stop button) ends it.
  function subscription(url, params, headers) {
    return {
      subscribe(sink) {
        const socket = new WebSocket(url, PROTOCOL);
        let subscribed = false;
        let done = false;
        const send = (message) => socket.send(JSON.stringify(message));
        const end = () => {
          done = true;
          socket.close(1000);
        };
        const fail = (error) => {
          end();
          sink.error(error);
        };

        socket.onopen = () => send({ type: "connection_init", payload: headers || {} });
        socket.onmessage = (event) => {
          if (done) {
            return;
          }
          let message;
          try {
            message = JSON.parse(event.data);
          } catch {
            fail({ message: "The gateway sent a message that is not JSON" });
            return;
          }
          switch (message.type) {
            case "connection_ack":
              subscribed = true;
              send({
                type: "subscribe",
                id: OPERATION_ID,
                payload: { query: params.query, variables: params.variables, operationName: params.operationName },
              });
              break;
            case "ping":
              send({ type: "pong" });
              break;
            case "next":
              sink.next(message.payload);
              break;
            case "error": // the operation was refused: its GraphQL errors
              fail(message.payload);
              break;
            case "complete":
              end();
              sink.complete();
              break;
          }
        };
        // A close before the operation ended: the gateway's code and reason say why (4401: no
        // valid token; 1013: the subscriber fell too far behind; 1006: the connection was lost).
        socket.onclose = (event) => {
          if (!done) {
            done = true;
            sink.error(closedError(event));
          }
        };

        return {
          unsubscribe() {
            if (done) {
              return;
            }
            if (subscribed && socket.readyState === WebSocket.OPEN) {
              send({ type: "complete", id: OPERATION_ID });
            }
            end();
          },
        };
      },
    };
  }

  return function createGatewayFetcher({ url, subscriptionUrl }) {
    const http = GraphiQL.createFetcher({ url });
    return (params, options) =>
      isSubscription(params)
        ? subscription(subscriptionUrl, params, options?.headers)
        : // Without the documentAST, createFetcher never takes anything for a subscription of
          // its own (it has no WebSocket client configured): the decision above is the one made.
          http(params, { headers: options?.headers });
  };
})();
