/** Job stream events: the same names as kiln.models (discriminated on `type`). */

export interface FileStart { type: "file_start"; path: string }
export interface FileChunk { type: "file_chunk"; path: string; text: string }
export interface FileEnd { type: "file_end"; path: string }
export interface EditEvent { type: "edit"; path: string; search: string; replace: string }
export interface DeleteEvent { type: "delete"; path: string }
export interface DepsEvent { type: "deps"; add: string[] }
export interface TextEvent { type: "text"; text: string }
export interface UsageEvent { type: "usage"; input_tokens: number; output_tokens: number }
export interface StatusEvent { type: "status"; phase: string; message?: string }

export type JobEvent =
  | FileStart
  | FileChunk
  | FileEnd
  | EditEvent
  | DeleteEvent
  | DepsEvent
  | TextEvent
  | UsageEvent
  | StatusEvent;

/** An event as the API sends it: the event plus its sequence number. */
export type SequencedEvent = JobEvent & { seq: number };
