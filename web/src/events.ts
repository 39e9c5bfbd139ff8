/** Job stream events: kiln.models' event types (discriminated on `type`), from the OpenAPI schema. */
import type { components } from "./api/schema";

type Schemas = components["schemas"];

export type FileStart = Schemas["FileStart"];
export type FileChunk = Schemas["FileChunk"];
export type FileEnd = Schemas["FileEnd"];
export type EditEvent = Schemas["Edit"];
export type DeleteEvent = Schemas["Delete"];
export type DepsEvent = Schemas["Deps"];
export type TextEvent = Schemas["Text"];
export type UsageEvent = Schemas["Usage"];
export type StatusEvent = Schemas["Status"];

export type JobEvent = FileStart | FileChunk | FileEnd | EditEvent | DeleteEvent | DepsEvent | TextEvent | UsageEvent | StatusEvent;

/** An event as the API sends it: the event plus its sequence number. */
export type SequencedEvent = Schemas["JobPublic"]["events"][number];
