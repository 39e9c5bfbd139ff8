/** Entry point: one store, one API client, one context for the actions; then draw the app. */
import { render } from "preact";
import "./styles.css";
import { createContext } from "./actions/context";
import { ApiClient, adoptToken } from "./api/client";
import { initialState } from "./state/app";
import { Store } from "./state/store";
import { App } from "./ui/App";
import { BufferedTerminal } from "./ui/terminal";

// a token handed back to an original-interface client arrives as #token=…: keep it, drop it from the URL
const hash = adoptToken(location.hash, localStorage);
if (hash !== location.hash) history.replaceState(null, "", location.pathname + location.search + hash);
const ctx = createContext(new Store(initialState()), new ApiClient());
render(<App ctx={ctx} terminal={new BufferedTerminal()} />, document.getElementById("app")!);
