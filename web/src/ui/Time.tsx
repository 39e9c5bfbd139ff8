/** A moment as the UI words it ("3 min ago"), the full date on hover, never cut or wrapped. */
import { formatTime, shortDate } from "./format";

export function Time({ iso, testid }: { iso: string; testid?: string }) {
  return (
    <time class="time" dateTime={iso} title={shortDate(iso)} data-testid={testid}>
      {formatTime(iso)}
    </time>
  );
}
