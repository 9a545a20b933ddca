/* The dashboard in a Microsoft Teams tab (body data-teams="tab"), and the channel tab's configuration page
   (data-teams="configure"). TeamsJS (vendored, global `microsoftTeams`) gives the person's Entra ID token;
   POST /dashboard/teams/session turns it into a dashboard session, whose token every API call then carries as
   a bearer token (dashboard.js, kizunaDashboard). Any failure is a message in the Teams client's language,
   never a blank page.
   When Teams needs the person's consent first, the tab offers a button that opens the consent window
   (authentication.authenticate): data-teams="consent" sends the person to Entra's authorize page (an
   authorization code request with state and PKCE, whose code is never redeemed) and data-teams="consent-end",
   where Entra sends them back, tells Teams whether they consented; the tab then asks for the token again.
   Glue only. */
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
    if (key === "consent" && mode === "tab") offerConsent();
  }
  function offerConsent() {
    // A window may only be opened from a click: the person presses the button, Teams opens the consent window.
    const button = document.createElement("button");
    button.type = "button";
    button.id = "teams-consent";
    button.className = "primary";
    button.textContent = text("consent_button");
    button.addEventListener("click", () => {
      button.disabled = true;
      microsoftTeams.authentication.authenticate({
        url: window.location.origin + "/dashboard/teams/consent", width: 600, height: 535,
      }).then(() => {
        button.remove();
        status.className = "note";
        status.setAttribute("role", "status");
        status.textContent = text("loading");
        delete document.body.dataset.failed;
        delete document.body.dataset.ready;
        signIn();
      }, (error) => {
        button.remove();
        const reason = String(error && (error.message || error));
        fail(/cancel/i.test(reason) ? "consent" : "consent_failed");
      });
    });
    status.after(button);
  }

  function base64url(bytes) {
    return btoa(String.fromCharCode.apply(null, Array.from(bytes)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function consentStart() {
    // The consent window: Entra's authorize page for this app's scope, in the person's tenant.
    let context = {};
    try { context = await microsoftTeams.app.getContext(); } catch (error) { /* organizations, no hint */ }
    const response = await fetch("/dashboard/teams/consent/parameters", { credentials: "omit" }).catch(() => null);
    if (!response || !response.ok) return fail("not_set_up");
    const parameters = await response.json();
    const state = base64url(crypto.getRandomValues(new Uint8Array(24)));
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)));
    const challenge = base64url(new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    sessionStorage.setItem("kizuna-consent-state", state);
    const user = context.user || {};
    const tenant = (user.tenant && user.tenant.id) || "organizations";
    const query = new URLSearchParams({
      client_id: parameters.client_id, response_type: "code", response_mode: "query",
      redirect_uri: parameters.redirect_uri, scope: parameters.scope, state: state,
      code_challenge: challenge, code_challenge_method: "S256",
    });
    if (user.loginHint) query.set("login_hint", user.loginHint);
    window.location.assign(parameters.authorize.replace("{tenant}", encodeURIComponent(tenant)) + "?" + query);
  }
  function consentEnd() {
    // Back from Entra: the code is not redeemed; consent given (or not) is all the tab needs to know.
    const query = new URLSearchParams(window.location.search);
    const expected = sessionStorage.getItem("kizuna-consent-state");
    sessionStorage.removeItem("kizuna-consent-state");
    if (query.get("error")) {
      microsoftTeams.authentication.notifyFailure(query.get("error"));
      return fail("consent_failed");
    }
    if (!query.get("code") || !expected || query.get("state") !== expected) {
      microsoftTeams.authentication.notifyFailure("state_mismatch");
      return fail("consent_failed");
    }
    status.textContent = text("consent_done");
    document.body.dataset.ready = "1";
    microsoftTeams.authentication.notifySuccess("consented");
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
    if (mode === "consent") return consentStart();
    if (mode === "consent-end") return consentEnd();
    status.textContent = text("loading");
    return signIn();
  }
  main();
})();
