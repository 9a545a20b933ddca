/* The dashboard page: reads the figures from /dashboard/api/… and draws them with Apache ECharts (vendored,
   global `echarts`). Every chart has its numbers as a table beside it and a CSV link. Glue only: no drawing. */
"use strict";
// kizunaDashboard(config, session) draws the dashboard. The signed-in page starts it at once with its embedded
// config (the session cookie signs the API calls); a Teams tab starts it after its sign-in (teams.js) with
// session = { bearer }, a token sent as `Authorization: Bearer …` (third-party cookies in an iframe are unreliable).
window.kizunaDashboard = function (config, session) {
  const S = config.strings;
  const bearer = session && session.bearer;
  const signed = () => (bearer ? { headers: { Authorization: "Bearer " + bearer }, credentials: "omit" }
    : { credentials: "same-origin" });
  const app = document.getElementById("app");
  const charts = [];

  function t(key, params) {
    let text = S[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(String(value));
    return text;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  const hidden = () => t("hidden", { n: config.threshold });
  const num = (v) => (v === null || v === undefined ? hidden() : Number(v).toLocaleString(config.lang));
  const pct = (v) => (v === null || v === undefined ? hidden() : (v * 100).toFixed(1) + "%");
  const deptName = (d) => (d.name === null ? S.no_department : d.name);

  // ---- controls -------------------------------------------------------------------------------
  const state = { period: "month", department: "", from: "", to: "" };
  const period = el("select", { id: "period", "aria-label": S.period });
  for (const p of ["week", "month", "quarter", "year", "custom"]) period.append(el("option", { value: p, text: S["period." + p] }));
  period.value = state.period;
  const dept = el("select", { id: "department", "aria-label": S.department });
  dept.append(el("option", { value: "", text: S.all_departments }));
  for (const d of config.departments) dept.append(el("option", { value: String(d.id), text: d.name }));
  const from = el("input", { type: "date", id: "from" });
  const to = el("input", { type: "date", id: "to" });
  const apply = el("button", { type: "button", class: "primary", text: S.apply });
  const controls = el("div", { class: "controls" },
    el("label", { text: S.period }, period), el("label", { text: S.department }, dept),
    el("label", { text: S.from }, from), el("label", { text: S.to }, to), apply,
    el("span", { class: "note", text: config.admin ? "" : t("privacy_note", { n: config.threshold }) }));
  app.append(controls);
  function custom() { const on = period.value === "custom"; from.disabled = to.disabled = !on; }
  period.addEventListener("change", () => { custom(); if (period.value !== "custom") load(); });
  dept.addEventListener("change", load);
  apply.addEventListener("click", load);
  custom();

  function query(extra) {
    const q = new URLSearchParams({ period: period.value });
    if (dept.value) q.set("department", dept.value);
    if (period.value === "custom") { q.set("from", from.value); q.set("to", to.value); }
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }
  async function fetchFigure(name) {
    const response = await fetch("/dashboard/api/" + name + "?" + query(), signed());
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || S.error);
    return response.json();
  }

  function panel(id, title, figure) {
    const section = el("section", { class: "panel", id: id, "aria-labelledby": id + "-title" },
      el("h2", { id: id + "-title", text: title }));
    if (figure) section.append(csvLink(figure));
    return section;
  }
  function csvLink(figure) {
    const link = el("a", { class: "csv", href: "/dashboard/api/" + figure + "?" + query({ format: "csv" }),
      download: "", text: S.csv });
    if (bearer) link.addEventListener("click", async (event) => { // a plain link would carry no token
      event.preventDefault();
      const response = await fetch(link.href, signed());
      if (!response.ok) return;
      const url = URL.createObjectURL(await response.blob());
      const save = el("a", { href: url, download: figure + ".csv" });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    return link;
  }
  function table(caption, head, rows, id) {
    const tbl = el("table", id ? { id: id } : {}, el("caption", { text: caption }));
    const tr = el("tr");
    head.forEach((h, i) => tr.append(el("th", { scope: "col", text: h })));
    tbl.append(el("thead", {}, tr));
    const body = el("tbody");
    for (const row of rows) {
      const r = el("tr");
      row.forEach((cell, i) => r.append(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row", text: cell } : { text: cell })));
      body.append(r);
    }
    tbl.append(body);
    return el("div", { class: "tablewrap" }, tbl);
  }
  function chartBox(option) {
    const box = el("div", { class: "chart", role: "img" });
    requestAnimationFrame(() => {
      const chart = echarts.init(box, null, { renderer: "svg" });
      chart.setOption(Object.assign({ animation: false }, option));
      charts.push(chart);
      box.dataset.drawn = "1";
    });
    return box;
  }

  // ---- figures --------------------------------------------------------------------------------
  function overview(data) {
    const section = panel("overview", S.overview, "overview");
    const tiles = el("div", { class: "tiles" });
    const items = [["thanks", num], ["senders", num], ["receivers", num], ["cross_share", pct]];
    for (const [key, format] of items) {
      const f = data[key];
      let change = "";
      let cls = "change";
      if (f.change !== null) {
        const sign = f.change > 0 ? "+" : "";
        change = (key === "cross_share" ? sign + (f.change * 100).toFixed(1) + " pt" : sign + f.change) + " · " + S.previous + " " + format(f.previous);
        cls += f.change > 0 ? " up" : f.change < 0 ? " down" : "";
      }
      tiles.append(el("div", { class: "tile", "data-figure": key },
        el("div", { class: "label", text: S[key] }), el("div", { class: "value", text: format(f.value) }),
        el("div", { class: cls, text: change })));
    }
    section.append(tiles, el("p", { class: "note", text: t("you", data.you) }));
    return section;
  }

  function heatmap(data) {
    const section = panel("heatmap", S.heatmap, "heatmap");
    const names = data.departments.map(deptName);
    const index = new Map(data.departments.map((d, i) => [d.id, i]));
    const share = el("input", { type: "checkbox", id: "show-share" });
    const cells = data.cells.filter((c) => index.has(c.from) && index.has(c.to));
    const points = (useShare) => cells.map((c) => [index.get(c.to), index.get(c.from),
      useShare ? (c.share === null ? "-" : Math.round(c.share * 1000) / 10) : (c.count === null ? "-" : c.count)]);
    const max = Math.max(1, ...cells.map((c) => c.count || 0));
    const option = (useShare) => ({
      tooltip: { position: "top" },
      grid: { left: 110, right: 20, top: 10, bottom: 80 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: 30 }, name: S.to_department },
      yAxis: { type: "category", data: names, inverse: true, name: S.from_department },
      visualMap: { min: 0, max: useShare ? 100 : max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                   inRange: { color: ["#eef2ff", "#3b5bdb"] } },
      series: [{ type: "heatmap", data: points(useShare), label: { show: true } }],
    });
    const box = chartBox(option(false));
    share.addEventListener("change", () => {
      const chart = charts.find((c) => c.getDom() === box);
      if (chart) chart.setOption(option(share.checked), true);
    });
    const rows = data.departments.map((d) => [deptName(d), ...data.departments.map((e) => {
      const c = cells.find((x) => x.from === d.id && x.to === e.id);
      return c ? num(c.count) + (c.share === null ? "" : " (" + pct(c.share) + ")") : "0";
    })]);
    section.append(el("label", { class: "note" }, share, " " + S.show_share),
      el("div", { class: "pair" }, box, table(S.table, ["", ...names], rows, "heatmap-table")));
    return section;
  }

  function network(data) {
    const section = panel("network", S.network, "network");
    const slider = el("input", { type: "number", min: "0", value: "0", id: "min-edge", style: "width:5rem" });
    const option = (minimum) => ({
      tooltip: {},
      series: [{
        type: "graph", layout: "circular", roam: false, label: { show: true },
        data: data.nodes.map((n) => ({ name: n.name + (n.island ? " 🏝 " + S.island : ""), id: String(n.id),
          symbolSize: 24 + Math.sqrt(n.inside + n.cross) * 2, itemStyle: { color: n.island ? "#e8590c" : "#3b5bdb" } })),
        links: data.edges.filter((e) => e.count >= minimum).map((e) => ({ source: String(e.a), target: String(e.b), value: e.count,
          lineStyle: { width: 1 + 9 * e.count / Math.max(1, ...data.edges.map((x) => x.count)), opacity: 0.6 } })),
      }],
    });
    const box = chartBox(option(0));
    slider.addEventListener("input", () => {
      const chart = charts.find((c) => c.getDom() === box);
      if (chart) chart.setOption(option(Number(slider.value) || 0), true);
    });
    const names = new Map(data.nodes.map((n) => [n.id, n.name]));
    const rows = data.edges.map((e) => [names.get(e.a) + " ↔ " + names.get(e.b), num(e.count)]);
    for (const n of data.nodes.filter((n) => n.island)) rows.push([n.name + " 🏝", S.island]);
    section.append(el("label", { class: "note" }, S.min_edge + " ", slider),
      el("div", { class: "pair" }, box, table(S.table, [S.network, S.count], rows, "network-table")));
    return section;
  }

  function trends(data) {
    const section = panel("trends", S.trends, "trends");
    const weeks = data.weeks.map((w) => w.week);
    const box = chartBox({
      tooltip: { trigger: "axis" }, legend: { data: [S.thanks, S.senders, S.cross_share] },
      grid: { left: 50, right: 50, top: 40, bottom: 40 },
      xAxis: { type: "category", data: weeks },
      yAxis: [{ type: "value" }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: S.thanks, type: "bar", data: data.weeks.map((w) => w.thanks) },
        { name: S.senders, type: "line", data: data.weeks.map((w) => w.senders) },
        { name: S.cross_share, type: "line", yAxisIndex: 1,
          data: data.weeks.map((w) => (w.cross_share === null ? null : Math.round(w.cross_share * 1000) / 10)) },
      ],
    });
    const rows = data.weeks.map((w) => [w.week, num(w.thanks), num(w.senders), pct(w.cross_share)]);
    section.append(el("div", { class: "pair" }, box, table(S.table, [S.week, S.thanks, S.senders, S.cross_share], rows, "trends-table")));
    return section;
  }

  function bridges(data) {
    const section = panel("bridges", S.bridges, "bridges");
    const rows = data.people.map((p) => [p.name, String(p.departments), String(p.thanks)]);
    section.append(table(S.table, [S.name, S.departments_reached, S.count], rows, "bridges-table"));
    return section;
  }

  function values(data) {
    const section = panel("values", S.values, "values");
    const used = data.departments.filter((d) => data.cells.some((c) => c.department === d.id));
    const col = new Map(used.map((d, i) => [d.id, i]));
    const row = new Map(data.values.map((v, i) => [v.id, i]));
    const cells = data.cells.filter((c) => col.has(c.department) && row.has(c.value));
    const box = chartBox({
      tooltip: {}, grid: { left: 150, right: 20, top: 10, bottom: 70 },
      xAxis: { type: "category", data: used.map(deptName), axisLabel: { rotate: 30 } },
      yAxis: { type: "category", data: data.values.map((v) => v.name), inverse: true },
      visualMap: { min: 0, max: Math.max(1, ...cells.map((c) => c.count || 0)), orient: "horizontal", left: "center",
                   bottom: 0, inRange: { color: ["#fff4e6", "#e8590c"] } },
      series: [{ type: "heatmap", label: { show: true },
                 data: cells.map((c) => [col.get(c.department), row.get(c.value), c.count === null ? "-" : c.count]) }],
    });
    const rows = data.values.map((v) => [v.name, ...used.map((d) => {
      const c = cells.find((x) => x.value === v.id && x.department === d.id);
      return c ? num(c.count) : "0";
    })]);
    section.append(el("div", { class: "pair" }, box, table(S.table, [S.value, ...used.map(deptName)], rows, "values-table")));
    if (data.weeks.length > 1) {
      const series = data.values.map((v) => ({ name: v.name, type: "line",
        data: data.weeks.map((w) => { const c = data.by_week.find((x) => x.value === v.id && x.week === w); return c ? c.count : 0; }) }));
      section.append(chartBox({ tooltip: { trigger: "axis" }, legend: {}, grid: { left: 40, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: data.weeks }, yAxis: { type: "value" }, series: series }));
    }
    return section;
  }

  function meetings(data) {
    const section = panel("meetings", S.meetings, "meetings");
    if (!data.meetings.length) { section.append(el("p", { class: "note", text: S.no_meetings })); return section; }
    const titles = data.meetings.map((m) => m.title);
    const box = chartBox({
      tooltip: { trigger: "axis" }, legend: { data: [S.before, S.after] }, grid: { left: 40, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: titles }, yAxis: { type: "value" },
      series: [{ name: S.before, type: "bar", data: data.meetings.map((m) => m.before) },
               { name: S.after, type: "bar", data: data.meetings.map((m) => m.after) }],
    });
    const rows = data.meetings.map((m) => [m.title, m.departments.join(" × "), m.began, num(m.before), num(m.after),
      m.attendance.map((a) => a.occurrence + ": " + a.yes).join(", ")]);
    section.append(el("p", { class: "note", text: t("meetings_note", { weeks: data.weeks }) }),
      el("div", { class: "pair" }, box, table(S.table, [S.meeting, S.department, S.began, S.before, S.after, S.attendance], rows, "meetings-table")));
    return section;
  }

  function mixers(data) {
    const section = panel("mixers", S.mixers, "mixers");
    if (!data.mixers.length) { section.append(el("p", { class: "note", text: S.no_mixers })); return section; }
    const box = chartBox({
      tooltip: { trigger: "axis" }, legend: { data: [S.before, S.after] }, grid: { left: 40, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: data.mixers.map((m) => m.name) }, yAxis: { type: "value" },
      series: [{ name: S.before, type: "bar", data: data.mixers.map((m) => m.before) },
               { name: S.after, type: "bar", data: data.mixers.map((m) => m.after) }],
    });
    const rows = data.mixers.map((m) => [m.name, m.began, String(m.rounds), String(m.people), String(m.pairs),
      String(m.met), num(m.before), num(m.after)]);
    section.append(el("p", { class: "note", text: t("mixers_note", { weeks: data.weeks }) }),
      el("div", { class: "pair" }, box, table(S.table, [S.mixer, S.began, S.rounds, S.people, S.pairs, S.met, S.before, S.after], rows, "mixers-table")));
    return section;
  }

  // projects2: the projects panel (thanks inside each project; did its departments keep thanking each other
  // after it closed?). Self-contained: one figure, one function, one entry in load().
  function projects(data) {
    const section = panel("projects", S.projects, "projects");
    if (!data.projects.length) { section.append(el("p", { class: "note", text: S.no_projects })); return section; }
    const label = (p) => p.name + " +" + p.key;
    const box = chartBox({
      tooltip: { trigger: "axis" }, legend: { data: [S.project_cross, S.project_before, S.project_after] },
      grid: { left: 40, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: data.projects.map(label) }, yAxis: { type: "value" },
      series: [{ name: S.project_cross, type: "bar", data: data.projects.map((p) => p.cross) },
               { name: S.project_before, type: "bar", data: data.projects.map((p) => p.before) },
               { name: S.project_after, type: "bar", data: data.projects.map((p) => p.after) }],
    });
    const side = (p, v) => (p.closed === null ? "—" : num(v));
    const rows = data.projects.map((p) => [label(p), p.departments.join(" × "), S["project_" + p.status] || p.status,
      p.start + " – " + (p.closed || p.end || ""), num(p.thanks), num(p.cross), side(p, p.before),
      side(p, p.after) + (p.so_far ? " " + S.so_far : "")]);
    // Eight columns: the table goes under the chart, at full width.
    section.append(el("p", { class: "note", text: t("projects_note", { weeks: data.weeks }) }), box,
      table(S.table, [S.project, S.project_departments, S.status, S.dates, S.project_thanks, S.project_cross,
        S.project_before, S.project_after], rows, "projects-table"));
    return section;
  }

  function leaderboard(data) {
    const section = panel("leaderboard", S.leaderboard, "leaderboard");
    const rows = data.entries.map((e) => [String(e.rank), e.name, String(e.count)]);
    section.append(table(S.table, [S.rank, S.name, S.count], rows, "leaderboard-table"));
    return section;
  }

  let loads = 0;
  async function load() {
    const run = ++loads;
    for (const chart of charts.splice(0)) chart.dispose();
    for (const node of [...app.querySelectorAll("section, .error")]) node.remove();
    document.body.dataset.ready = "";
    try {
      const names = ["overview", "heatmap", "network", "trends", "values"].concat(config.admin ? ["bridges"] : [],
        ["meetings", "mixers", "projects"], config.leaderboard ? ["leaderboard"] : []);
      const results = await Promise.all(names.map(fetchFigure));
      if (run !== loads) return; // the period or department changed meanwhile: only the newest load draws
      const draw = { overview, heatmap, network, trends, values, bridges, meetings, mixers, projects, leaderboard };
      names.forEach((name, i) => app.append(draw[name](results[i])));
    } catch (error) {
      if (run !== loads) return;
      app.append(el("p", { class: "error", role: "alert", text: S.error }));
    }
    requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = "1"; }));
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  load();
};
{
  const embedded = document.getElementById("kizuna-config");
  if (embedded) window.kizunaDashboard(JSON.parse(embedded.textContent));
}
