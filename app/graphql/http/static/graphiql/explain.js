// instance-gateway's GraphiQL: the query plan. A pane of the sidebar ("Query plan") holds a
// toggle that has each query ask for `extensions: {"explain": true}`, and shows the plan of the
// last answer: the MongoDB commands each root field sent and, on MongoDB, how they ran.
"use strict";

window.createQueryPlans = () => {
  let explaining = false;
  let latest = null;
  const listeners = new Set();
  const changed = () => listeners.forEach((listener) => listener());

  // The fetcher, asking for the plan while the toggle is on. GraphiQL's own introspection leaves
  // the plan shown as it is.
  function fetcher(inner) {
    return (params, options) => {
      if (!explaining || params.operationName === "IntrospectionQuery") {
        return inner(params, options);
      }
      const result = inner({ ...params, extensions: { ...params.extensions, explain: true } }, options);
      if (typeof result?.then !== "function") {
        return result; // a subscription's events: no plan
      }
      // GraphiQL's HTTP fetcher answers with the response, or with an async iterable of its parts.
      return result.then((answer) => (typeof answer?.[Symbol.asyncIterator] === "function" ? parts(answer) : shown(answer)));
    };
  }

  function shown(answer) {
    latest = answer?.extensions?.explain ?? { note: "the answer holds no plan" };
    changed();
    return answer;
  }

  async function* parts(answers) {
    for await (const answer of answers) {
      yield shown(answer);
    }
  }

  function Pane() {
    const [, render] = React.useReducer((n) => n + 1, 0);
    React.useEffect(() => {
      listeners.add(render);
      return () => listeners.delete(render);
    }, []);
    const toggle = React.createElement(
      "label",
      null,
      React.createElement("input", {
        type: "checkbox",
        id: "explain-toggle",
        checked: explaining,
        onChange: (event) => {
          explaining = event.target.checked;
          changed();
        },
      }),
      " Explain each query",
    );
    const shown =
      latest === null
        ? "Turn this on and run a query: its MongoDB commands, and on MongoDB their plans, show here."
        : JSON.stringify(latest, null, 2);
    return React.createElement("div", { className: "query-plan" }, toggle, React.createElement("pre", { id: "explain-pane" }, shown));
  }

  const icon = () => React.createElement("span", { "aria-hidden": true }, "\u26c1");
  return { fetcher, plugin: { title: "Query plan", icon, content: Pane } };
};
