// The EspyMetrics dashboard: everything it shows comes from this node's own API, asked with the
// same parameters a user would type (the data tables under each chart hold the exact answer).
// The view and its filters live in the URL, so a view can be shared by its address.
"use strict";

(function () {
  const FLEET_REFRESH_MS = 30000;
  const CLUSTER_REFRESH_MS = 2000;
  const VIEWS_REFRESH_MS = 10000;
  const MAJOR = "python.version_info.0";
  const MINOR = "python.version_info.1";
  const FILTER_PATHS = { system: "uname.system", implementation: "python.implementation" };

  const $ = (id) => document.getElementById(id);
  const charts = {};
  let timer = null;
  // Members seen earlier in this page's life: gossip forgets dead members after a while, but
  // an operator still wants to see that they are gone.
  const seenMembers = new Map();

  // MARK: URL state

  function state() {
    const query = new URLSearchParams(location.search);
    return {
      view: query.get("view") === "cluster" ? "cluster" : "fleet",
      system: query.get("system") || "",
      implementation: query.get("implementation") || "",
      since: query.get("since") || "",
      until: query.get("until") || "",
      bucket: ["day", "week", "month"].includes(query.get("bucket")) ? query.get("bucket") : "week",
      where: query.getAll("where").filter((w) => w.includes(":")),
    };
  }

  function setState(next) {
    const query = new URLSearchParams();
    query.set("view", next.view);
    for (const name of ["system", "implementation", "since", "until"]) if (next[name]) query.set(name, next[name]);
    if (next.bucket !== "week") query.set("bucket", next.bucket);
    for (const w of next.where) query.append("where", w);
    history.pushState(null, "", "?" + query.toString());
    show();
  }

  // MARK: Asking the node

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      throw new Error(`${path}: ${response.status} ${body && body.error ? body.error : response.statusText}`);
    }
    return body;
  }

  // A count with the page's filters; allow_partial so a node down still shows what is there,
  // flagged loudly (see coverageNote).
  function countPath(parameters, filters) {
    const query = new URLSearchParams();
    for (const [name, value] of parameters) query.append(name, value);
    for (const [name, path] of Object.entries(FILTER_PATHS)) if (filters[name]) query.append("where", `${path}:${filters[name]}`);
    for (const w of filters.where) query.append("where", w);
    if (filters.since) query.set("since", filters.since);
    if (filters.until) query.set("until", filters.until);
    query.set("allow_partial", "true");
    return "/v1/count?" + query.toString();
  }

  const problems = new Map();
  function problem(key, text) {
    if (text) problems.set(key, text); else problems.delete(key);
    const box = $("problems");
    box.replaceChildren(...[...problems.values()].map((t) => element("p", {}, t)));
  }

  function coverageNote(key, answer) {
    const coverage = answer && answer.coverage;
    if (coverage && coverage.partial) {
      const p = coverage.partitions;
      const failed = coverage.nodes && coverage.nodes.failed && coverage.nodes.failed.length ? `; failed: ${coverage.nodes.failed.join(", ")}` : "";
      problem(key, `Partial answer: ${p.answered} of ${p.total} partitions answered${failed}. Counts may be low.`);
    } else {
      problem(key, null);
    }
  }

  // MARK: Building the page

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function fillTable(table, headings, rows) {
    table.replaceChildren(
      element("thead", {}, element("tr", {}, ...headings.map((h) => element("th", {}, h)))),
      element("tbody", {}, ...rows.map((cells) => element("tr", {}, ...cells.map((c) => element("td", {}, c))))));
  }

  // "3.11" from a row's key; "(other)" and missing values as the API writes them.
  function versionLabel(key) {
    if (typeof key === "string") return key;
    const major = key[MAJOR], minor = key[MINOR];
    if (major === "(missing)") return "(missing)";
    return minor === "(missing)" ? `${major}` : `${major}.${minor}`;
  }

  function keyLabel(key) {
    if (typeof key === "string") return key;
    const values = Object.values(key).filter((v) => v !== "");
    return values.length ? values.join(" ") : "(empty)";
  }

  // Numbers inside labels compare as numbers: 2.7 < 3.9 < 3.10.
  function compareVersions(a, b) {
    const pa = a.split(/(\d+)/), pb = b.split(/(\d+)/);
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] === pb[i]) continue;
      const na = Number(pa[i]), nb = Number(pb[i]);
      if (pa[i] !== "" && pb[i] !== "" && !isNaN(na) && !isNaN(nb)) return na - nb;
      return pa[i] < pb[i] ? -1 : 1;
    }
    return pa.length - pb.length;
  }

  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

  function draw(id, config) {
    if (typeof Chart === "undefined") return;  // the page says why (checkChartLibrary)
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  // MARK: Fleet

  async function fleetVersions(filters) {
    const answer = await api(countPath([["bucket", filters.bucket], ["group_by", MAJOR], ["group_by", MINOR], ["order", "version"]], filters));
    coverageNote("versions", answer);
    const buckets = [...new Set(answer.rows.map((r) => r.bucket))];
    const versions = [...new Set(answer.rows.map((r) => versionLabel(r.key)))].sort(compareVersions);
    const share = new Map(answer.rows.map((r) => [`${r.bucket} ${versionLabel(r.key)}`, r.percent]));
    draw("chart-versions", {
      type: "bar",
      data: {
        labels: buckets,
        datasets: versions.map((v, i) => ({
          label: v, backgroundColor: PALETTE[i % PALETTE.length],
          data: buckets.map((b) => share.get(`${b} ${v}`) || 0),
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, max: 100, title: { display: true, text: "% of records" } } } },
    });
    fillTable($("data-versions"), [filters.bucket, "version", "records", "%"],
      answer.rows.map((r) => [r.bucket, versionLabel(r.key), r.count, r.percent]));
    for (const span of document.querySelectorAll(".bucket-name")) span.textContent = filters.bucket;
    $("fleet-total").textContent = `${answer.total} records match these filters.`;
  }

  async function fleetHosts(filters) {
    const answer = await api(countPath([["group_by", MAJOR], ["group_by", MINOR], ["distinct", "hostname"], ["order", "version"]], filters));
    coverageNote("hosts", answer);
    const rows = answer.rows.filter((r) => typeof r.key !== "string");
    draw("chart-hosts", {
      type: "bar",
      data: { labels: rows.map((r) => versionLabel(r.key)), datasets: [{ label: "distinct hosts", backgroundColor: PALETTE[0], data: rows.map((r) => r.distinct) }] },
      options: { plugins: { legend: { display: false } } },
    });
    const error = answer.distinct_error ? ` (±${(answer.distinct_error * 100).toFixed(0)} %)` : "";
    fillTable($("data-hosts"), ["version", "records", "distinct hosts" + error],
      rows.map((r) => [versionLabel(r.key), r.count, r.distinct]));
  }

  async function fleetTop(id, paths, filters) {
    const parameters = paths.map((p) => ["group_by", p]).concat([["top", "10"]]);
    const answer = await api(countPath(parameters, filters));
    coverageNote(id, answer);
    draw(`chart-${id}`, {
      type: "doughnut",
      data: {
        labels: answer.rows.map((r) => keyLabel(r.key)),
        datasets: [{ data: answer.rows.map((r) => r.count), backgroundColor: answer.rows.map((_, i) => PALETTE[i % PALETTE.length]) }],
      },
      options: { plugins: { legend: { position: "right" } } },
    });
    fillTable($(`data-${id}`), ["value", "records", "%"], answer.rows.map((r) => [keyLabel(r.key), r.count, r.percent]));
  }

  // The filter choices are the values the fleet reports (unfiltered), plus the one in the URL.
  async function fillChoices(filters) {
    for (const [name, path] of Object.entries(FILTER_PATHS)) {
      const select = $(`filter-${name}`);
      const answer = await api(`/v1/count?group_by=${encodeURIComponent(path)}&order=key&allow_partial=true`);
      const values = new Set(Object.keys(answer.counts || {}));
      if (filters[name]) values.add(filters[name]);
      select.replaceChildren(element("option", { value: "" }, "any"),
        ...[...values].sort().map((v) => element("option", { value: v }, v === "" ? "(empty)" : v)));
      select.value = filters[name];
    }
  }

  function showFilters(filters) {
    $("filter-since").value = filters.since;
    $("filter-until").value = filters.until;
    $("filter-bucket").value = filters.bucket;
    $("filter-where").value = filters.where.join(", ");
  }

  async function refreshFleet() {
    const filters = state();
    showFilters(filters);
    const tasks = [
      ["choices", () => fillChoices(filters)],
      ["versions", () => fleetVersions(filters)],
      ["hosts", () => fleetHosts(filters)],
      ["distros", () => fleetTop("distros", ["linux_dist.name", "linux_dist.version"], filters)],
      ["openssl", () => fleetTop("openssl", ["python.openssl_version"], filters)],
    ];
    await Promise.all(tasks.map(async ([key, task]) => {
      try { await task(); problem(`${key}-error`, null); } catch (e) { problem(`${key}-error`, e.message); }
    }));
  }

  // MARK: Cluster

  async function refreshMembers() {
    const [members, partitions] = await Promise.all([api("/v1/cluster/members"), api("/v1/cluster/partitions")]);
    const owned = partitions.owned || {};
    for (const member of members.members) seenMembers.set(member.name, member);
    const current = new Set(members.members.map((m) => m.name));
    const rows = [...seenMembers.values()].sort((a, b) => compareVersions(a.name, b.name)).map((member) => {
      const forgotten = !current.has(member.name);
      const status = forgotten ? "dead" : member.status;
      const row = element("tr", { "data-node": member.name, "data-status": status },
        element("td", {}, member.name), element("td", {}, member.datacenter || "-"),
        element("td", { class: `status status-${status}` }, forgotten ? "dead (forgotten by gossip)" : status),
        element("td", {}, member.incarnation), element("td", {}, member.since.replace("T", " ").replace(/\.\d+Z$/, "Z")),
        element("td", { class: "owned" }, owned[member.name] || 0), element("td", {}, (member.tags && member.tags.version) || "-"),
        element("td", {}, member.http ? element("a", { href: `http://${member.http}/ui/?view=cluster` }, member.http) : "-"));
      return row;
    });
    $("members").tBodies[0].replaceChildren(...rows);
    const totals = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const row of rows) totals[row.dataset.status] += 1;
    const datacenters = Object.keys(members.datacenters || {}).length;
    $("members-summary").textContent = `${totals.alive} alive, ${totals.suspect} suspect, ${totals.dead} dead, ${totals.left} left; ` +
      `${datacenters} datacenter${datacenters === 1 ? "" : "s"}; as ${members.self} sees them`;
    showPartitions(partitions);
  }

  function showProgress(id, textId, progress) {
    const bar = $(id);
    bar.max = Math.max(progress.of, 1);
    bar.value = progress.of ? progress.done : 1;
    $(textId).textContent = progress.partitions ? `${progress.partitions} left, ${progress.done} of ${progress.of} done` : "none";
  }

  function showPartitions(partitions) {
    $("partitions-node").textContent = `(as ${partitions.node} sees them, ${partitions.partitions} in all)`;
    $("partitions-full").textContent = partitions.fully_replicated;
    $("partitions-under").textContent = partitions.under_replicated;
    showProgress("catching-up-progress", "partitions-catching-up", partitions.handoff.catching_up);
    showProgress("handing-off-progress", "partitions-handing-off", partitions.handoff.handing_off);
    const hints = Object.entries(partitions.pending_hints || {});
    $("hints").tBodies[0].replaceChildren(...(hints.length
      ? hints.map(([replica, count]) => element("tr", {}, element("td", {}, replica), element("td", {}, count)))
      : [element("tr", {}, element("td", { colspan: "2" }, "none"))]));
  }

  async function refreshViews() {
    const views = await api("/v1/cluster/views");
    $("views-summary").textContent = `${views.agreeing} of ${views.asked} alive nodes agree with ${views.self}`;
    $("views").tBodies[0].replaceChildren(...views.nodes.map((view) => element("tr",
      { "data-node": view.node, class: view.view_digest === views.view_digest ? "agrees" : "differs" },
      element("td", {}, view.node), element("td", {}, view.view_digest || view.error || "-"),
      element("td", {}, view.under_replicated === undefined ? "-" : view.under_replicated))));
  }

  // The agreement costs the node one request per alive member, so it is asked less often.
  let viewsAskedAt = 0;
  async function refreshCluster() {
    const tasks = [["members-error", refreshMembers]];
    if (Date.now() - viewsAskedAt >= VIEWS_REFRESH_MS) {
      viewsAskedAt = Date.now();
      tasks.push(["views-error", refreshViews]);
    }
    for (const [key, task] of tasks) {
      try { await task(); problem(key, null); } catch (e) { problem(key, e.message); }
    }
  }

  // MARK: Wiring

  function checkChartLibrary() {
    problem("chart", typeof Chart === "undefined"
      ? "The chart library did not load (GET /ui/lib/chart.js); install Debian's libjs-chart.js on this node. The data tables still show every answer."
      : null);
  }

  async function show() {
    const current = state();
    for (const view of ["fleet", "cluster"]) {
      $(view).hidden = view !== current.view;
      $(`tab-${view}`).classList.toggle("active", view === current.view);
    }
    for (const key of [...problems.keys()]) if (key !== "chart") problem(key, null);
    clearTimeout(timer);
    viewsAskedAt = 0;
    const refresh = current.view === "cluster" ? refreshCluster : refreshFleet;
    const every = current.view === "cluster" ? CLUSTER_REFRESH_MS : FLEET_REFRESH_MS;
    const tick = async () => {
      await refresh();
      $("refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
      document.body.dataset.refreshed = String(Date.now());
      timer = setTimeout(tick, every);
    };
    await tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    checkChartLibrary();
    api("/v1/health").then((h) => { $("node").textContent = `${h.node} (${h.datacenter}), ${h.version}`; }).catch(() => {});
    for (const link of document.querySelectorAll("nav a")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        setState(Object.assign(state(), { view: link.dataset.view }));
      });
    }
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      setState({
        view: "fleet",
        system: $("filter-system").value,
        implementation: $("filter-implementation").value,
        since: $("filter-since").value,
        until: $("filter-until").value,
        bucket: $("filter-bucket").value,
        where: $("filter-where").value.split(",").map((w) => w.trim()).filter((w) => w.includes(":")),
      });
    });
    for (const id of ["filter-system", "filter-implementation", "filter-bucket"]) {
      $(id).addEventListener("change", () => $("filters").requestSubmit());
    }
    window.addEventListener("popstate", show);
    show();
  });
})();
