import { useEffect, useState } from "react";
import { api, getToken, root, setToken } from "./api.js";
import { MeContext } from "./me.js";
import Board from "./screens/Board.jsx";
import NewStory from "./screens/NewStory.jsx";
import StoryScreen from "./screens/Story.jsx";


function useHash() {
  const [hash, setHash] = useState(window.location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(window.location.hash || "#/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

// Where the tokens are (the gateway names the file and the variables; nothing secret).
function TokenHint() {
  const [hint, setHint] = useState(null);
  useEffect(() => {
    fetch(`${root}/ui/signin-hint.json`, { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null))
      .then(setHint)
      .catch(() => {});
  }, []);
  if (!hint) return null;
  return (
    <p className="text-xs text-slate-500" data-testid="token-hint">
      Where is it? <code className="font-mono">fleet up</code> writes the tokens to <code className="font-mono">{hint.tokens_file}</code> on
      the machine that runs the fleet ({hint.data_dir}), unless <code className="font-mono">{hint.po_variable}</code> (or{" "}
      <code className="font-mono">{hint.viewer_variable}</code>) set them there.
    </p>
  );
}

function SignIn({ onSignedIn, error }) {
  const [token, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(error);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setToken(token.trim());
    try {
      onSignedIn(await api("/me"));
    } catch (err) {
      setToken("");
      setProblem(err.message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} className="card mx-auto mt-24 max-w-md space-y-4" data-testid="signin">
      <h1 className="text-xl font-semibold">SWE AI Fleet</h1>
      <p className="text-sm text-slate-600">
        Paste your gateway token (a <b>po</b> token acts, a <b>viewer</b> token only reads). It stays in
        this browser tab's session storage and is sent only in the Authorization header.
      </p>
      <input
        className="input font-mono"
        type="password"
        autoComplete="off"
        placeholder="token"
        value={token}
        onChange={(e) => setValue(e.target.value)}
        data-testid="token"
        autoFocus
      />
      {problem && <p className="text-sm text-rose-600" role="alert">{problem}</p>}
      <button className="btn-primary" disabled={!token.trim() || busy} data-testid="signin-submit">
        Sign in
      </button>
      <TokenHint />
    </form>
  );
}

function route(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "new") return { screen: "new" };
  if (parts[0] === "story" && parts[1]) return { screen: "story", id: parts[1], tab: parts[2] || "overview" };
  return { screen: "board" };
}

export default function App() {
  const hash = useHash();
  const [me, setMe] = useState(null);
  const [checked, setChecked] = useState(!getToken());
  const [error, setError] = useState(null);

  useEffect(() => {
    if (!getToken()) return;
    api("/me")
      .then(setMe)
      .catch((e) => {
        setToken("");
        setError(e.message);
      })
      .finally(() => setChecked(true));
  }, []);

  if (!checked) return null;
  if (!me) return <SignIn onSignedIn={setMe} error={error} />;
  const r = route(hash);
  const signOut = () => {
    setToken("");
    setMe(null);
  };
  return (
    <MeContext.Provider value={me}>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-7xl items-center gap-6 px-4 py-3">
          <a href="#/" className="text-lg font-semibold text-indigo-700">SWE AI Fleet</a>
          <nav className="flex gap-4 text-sm">
            <a href="#/" className={r.screen === "board" ? "font-semibold" : "text-slate-600"}>Board</a>
            <a href="#/new" className={r.screen === "new" ? "font-semibold" : "text-slate-600"} data-testid="nav-new">
              New story
            </a>
          </nav>
          <span className="ml-auto text-sm text-slate-600">
            signed in as{" "}
            <span className={`badge ${me.can_act ? "bg-indigo-100 text-indigo-800" : "bg-slate-200 text-slate-700"}`} data-testid="role">
              {me.role}
            </span>
            {!me.can_act && <span className="ml-2 text-xs text-slate-500">(read-only)</span>}
          </span>
          <button className="btn-plain" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-6">
        {r.screen === "board" && <Board />}
        {r.screen === "new" && <NewStory />}
        {r.screen === "story" && <StoryScreen id={r.id} tab={r.tab} key={r.id} />}
      </main>
    </MeContext.Provider>
  );
}
