// instance-gateway's GraphiQL: each of GraphiQL's tabs keeps its own subscription. GraphiQL holds
// one operation at a time and stops it whenever a tab is chosen; here a tab's subscription runs on
// while another tab is shown, and comes back with its tab (its latest event, the Stop button).
// Its Stop button, or closing its tab, ends it; nothing done in another tab does.
"use strict";

window.createTabSubscriptions = () => {
  const byTab = new Map(); // tab id → its subscription, while it runs or has an end to show
  let activeTab = null;
  let resuming = null; // the subscription being given back to GraphiQL by a run of its tab

  // A tab's subscription to `source` (an Observable). While GraphiQL holds it ("shown"), events go
  // to GraphiQL's sink; once GraphiQL lets go ("released"), it is ended or kept running for its
  // tab ("background"), which keeps the latest event and how it ended for when the tab is back.
  function tabSubscription(tab, source) {
    let sink = null;
    let latest = null;
    let ending = null;
    const held = {
      tab,
      state: "shown",
      attach(to) {
        sink = to;
        held.state = "shown";
        if (latest !== null) {
          sink.next(latest);
        }
        if (ending !== null) {
          finish();
        }
      },
      release(from) {
        if (sink === from) {
          sink = null;
          held.state = "released";
        }
      },
      end() {
        upstream.unsubscribe(); // a no-op once the source has ended
        forget();
      },
    };
    const forget = () => byTab.get(tab) === held && byTab.delete(tab);
    const finish = () => {
      ending(sink);
      forget();
    };
    const upstream = source.subscribe({
      next(payload) {
        latest = payload;
        sink?.next(payload);
      },
      error(error) {
        ending = (to) => to.error(error);
        sink && finish();
      },
      complete() {
        ending = (to) => to.complete();
        sink && finish();
      },
    });
    return held;
  }

  // The Observable GraphiQL gets for a subscription run in the active tab, or for a tab's own
  // subscription given back to it.
  function observable(source, resumed) {
    const tab = activeTab;
    return {
      subscribe(sink) {
        let held = resumed;
        if (held === null) {
          byTab.get(tab)?.end(); // one per tab: never leave one running out of reach
          held = tabSubscription(tab, source);
          byTab.set(tab, held);
        }
        held.attach(sink);
        return { unsubscribe: () => held.release(sink) };
      },
    };
  }

  // GraphiQL's fetcher around `inner`: a subscription it answers belongs to the active tab.
  function fetcher(inner) {
    return (params, options) => {
      if (resuming !== null) {
        const resumed = resuming;
        resuming = null;
        return observable(null, resumed);
      }
      const answer = inner(params, options);
      return typeof answer?.subscribe === "function" ? observable(answer, null) : answer;
    };
  }

  // After each change of GraphiQL's tabs or of what it runs: a released subscription ends if its
  // tab is still shown (its Stop button) or was closed, and runs on if another tab was chosen.
  function settle(tabIds, active, execution) {
    activeTab = active;
    for (const held of [...byTab.values()]) {
      if (!tabIds.has(held.tab) || (held.state === "released" && held.tab === active)) {
        held.end();
      } else if (held.state === "released") {
        held.state = "background";
      }
    }
    const shown = [...byTab.values()].find((held) => held.state === "shown");
    if (shown !== undefined && shown.tab !== active) {
      // GraphiQL chose another tab without letting go (closing a tab after the active one does):
      // let go of it now, and look again once GraphiQL has.
      execution.stop();
      return;
    }
    const waiting = byTab.get(active);
    if (waiting?.state === "background") {
      // Run the tab again to give its subscription back: the fetcher answers with it.
      waiting.state = "shown";
      resuming = waiting;
      execution.run();
      if (resuming === waiting) {
        resuming = null; // GraphiQL refused to run (its headers or variables are not JSON)
        waiting.end();
      }
    }
  }

  // Rendered inside GraphiQL (in its footer, showing nothing), where its tabs and execution are.
  function TabSubscriptions() {
    const { tabs, activeTabIndex } = GraphiQL.React.useEditorContext({ nonNull: true });
    const execution = GraphiQL.React.useExecutionContext({ nonNull: true });
    React.useEffect(() => {
      settle(new Set(tabs.map((tab) => tab.id)), tabs[activeTabIndex].id, execution);
    });
    return null;
  }

  return { fetcher, TabSubscriptions };
};
