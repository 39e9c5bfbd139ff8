/** Entry point: build the layout, wire the views to the store, then boot. */
import "./styles.css";
import { ApiClient, adoptToken } from "./api/client";
import { initialState } from "./state/app";
import { Store } from "./state/store";
import { mountLayout } from "./ui/layout";

const hash = adoptToken(location.hash, localStorage);
if (hash !== location.hash) history.replaceState(null, "", location.pathname + location.search + hash);
const store = new Store(initialState());
const api = new ApiClient();
mountLayout(document.getElementById("app")!, store, api);
