/* The dashboard in a Microsoft Teams tab (body data-teams="tab"), and the channel tab's configuration page
   (data-teams="configure"). TeamsJS (vendored, global `microsoftTeams`) gives the person's Entra ID token;
   POST /dashboard/teams/session turns it into a dashboard session, whose token every API call then carries as
   a bearer token (dashboard.js, kizunaDashboard). Any failure is a message in the Teams client's language,
   never a blank page. Glue only. */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("kizuna-teams").textContent);
  const status = document.getElementById("teams-status");
  const mode = document.body.dataset.teams;
  let lang = data.lang;
  const text = (key) => data.strings[lang][key] || data.strings.en[key] || key;

  function fail(key, message) {
    status.textContent = message || text(key);
    status.className = "error";
    status.setAttribute("role", "alert");
    document.body.dataset.failed = key;
    document.body.dataset.ready = "1";
  }
  function language(locale) {
    return String(locale || "").toLowerCase().startsWith("ja") ? "ja" : "en";
  }

  function configure() {
    // A channel or chat tab has nothing to choose: it always shows the workspace's dashboard.
    const origin = window.location.origin;
    microsoftTeams.pages.config.registerOnSaveHandler((save) => {
      microsoftTeams.pages.config.setConfig({
        entityId: "kizuna-insights", suggestedDisplayName: text("tab_name"),
        contentUrl: origin + "/dashboard/teams", websiteUrl: origin + "/dashboard",
      }).then(() => save.notifySuccess(), (error) => save.notifyFailure(String(error && (error.message || error))));
    });
    microsoftTeams.pages.config.setValidityState(true);
    status.textContent = text("configure.text");
    document.body.dataset.ready = "1";
  }

  async function signIn() {
    let token;
    try {
      token = await microsoftTeams.authentication.getAuthToken();
    } catch (error) {
      const reason = String(error && (error.message || error));
      return fail(/consent/i.test(reason) ? "consent" : "no_token");
    }
    let session;
    try {
      const response = await fetch("/dashboard/teams/session", {
        method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: token, locale: lang }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const key = { 403: "not_member", 404: "not_set_up", 503: "unavailable" }[response.status] || "refused";
        return fail(key, body.error);
      }
      session = { bearer: body.token };
    } catch (error) {
      return fail("unavailable");
    }
    const response = await fetch("/dashboard/api/config?lang=" + lang,
      { headers: { Authorization: "Bearer " + session.bearer }, credentials: "omit" }).catch(() => null);
    if (!response || !response.ok) return fail("refused");
    const config = await response.json();
    status.remove();
    document.getElementById("teams-title").textContent = config.strings.title;
    document.getElementById("teams-who").textContent = config.member + " · " + config.workspace;
    document.documentElement.lang = config.lang;
    window.kizunaDashboard(config, session);
  }

  async function main() {
    if (typeof microsoftTeams === "undefined") return fail("outside");
    try {
      await microsoftTeams.app.initialize();
    } catch (error) {
      return fail("outside"); // not inside a Teams client
    }
    try {
      const context = await microsoftTeams.app.getContext();
      lang = language(context && context.app && context.app.locale);
    } catch (error) { /* keep the request's language */ }
    document.documentElement.lang = lang;
    document.getElementById("teams-title").textContent = document.title = text("title");
    if (mode === "configure") return configure();
    status.textContent = text("loading");
    return signIn();
  }
  main();
})();
