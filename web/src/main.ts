/** Entry point: build the layout, wire the views to the store, then boot. */
import "./styles.css";
import { ApiClient } from "./api/client";
import { initialState } from "./state/app";
import { Store } from "./state/store";
import { mountLayout } from "./ui/layout";

const store = new Store(initialState());
const api = new ApiClient();
mountLayout(document.getElementById("app")!, store, api);
