/** The retry dialog's "which version" radios (retry-version.ts decides what they say). */
import type { RetryChoice, RetryVersion } from "./retry-version";

interface Props {
  choices: RetryChoice[];
  value: RetryVersion;
  onChange: (value: RetryVersion) => void;
}

export function RetryVersionChoice({ choices, value, onChange }: Props) {
  if (!choices.length) return null;
  return (
    <fieldset className="fp-retry-version">
      <legend>A newer version of the workflow exists</legend>
      {choices.map((choice) => (
        <label key={choice.value} className={`fp-retry-choice${choice.refused ? " refused" : ""}`}>
          <input type="radio" name="retry-version" value={choice.value} checked={value === choice.value}
                 disabled={Boolean(choice.refused)} onChange={() => onChange(choice.value)} />
          <span>
            {choice.label}
            {choice.refused && <span className="field-error small"> — not possible: {choice.refused}</span>}
            {!choice.refused && choice.note && <span className="muted small"> — {choice.note}</span>}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
