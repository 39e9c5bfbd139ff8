/** Entry point: one store, one API client, one context for the actions; then draw the app. */
import { render } from "preact";
import "./styles.css";
import { createContext } from "./actions/context";
import { ApiClient } from "./api/client";
import { initialState } from "./state/app";
import { Store } from "./state/store";
import { App } from "./ui/App";
import { BufferedTerminal } from "./ui/terminal";

const ctx = createContext(new Store(initialState()), new ApiClient());
render(<App ctx={ctx} terminal={new BufferedTerminal()} />, document.getElementById("app")!);
