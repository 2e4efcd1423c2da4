/** A step's credential field: a choice among the user's stored credentials, the name the step holds
 * kept (and marked) when no credential has it, and "Create new…", which creates one in a dialog and
 * picks it. Which fields are credentials is the server's to say (the schema's `format: "credential"`). */
import { useState } from "react";

import { useCredentialNames } from "@/hooks/use-credential-names";

import { CredentialDialog } from "./CredentialDialog";

/** Not a credential's name (names are letters, digits and underscores). */
export const CREATE_NEW = "+create";

interface Props {
  id: string;
  value: string | undefined;
  onChange: (value: string | undefined) => void;
  disabled?: boolean;
  "aria-describedby"?: string;
  "aria-invalid"?: boolean;
}

/** The options of the picker: the user's credentials by name, and the step's own name first when no
 * credential has it (so that what the step holds is seen, not silently replaced). */
export function credentialOptions(names: string[], value: string | undefined): { value: string; label: string }[] {
  const options = names.map((name) => ({ value: name, label: name }));
  if (value && !names.includes(value)) options.unshift({ value, label: `${value} (not found)` });
  return options;
}

export function CredentialPicker({ id, value, onChange, disabled, ...aria }: Props) {
  const names = useCredentialNames();
  const [creating, setCreating] = useState(false);
  const options = credentialOptions(names, value);
  return (
    <>
      <select id={id} className="fp-credential-picker" value={value ?? ""} disabled={disabled} {...aria}
              onChange={(e) => {
                if (e.target.value === CREATE_NEW) setCreating(true);
                else onChange(e.target.value === "" ? undefined : e.target.value);
              }}>
        <option value="">{names.length ? "— choose a credential —" : "— no credentials yet —"}</option>
        {options.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
        <option value={CREATE_NEW}>Create new…</option>
      </select>
      {creating && (
        <CredentialDialog suggestedName={value && !names.includes(value) ? value : ""} onClose={() => setCreating(false)}
                          onSaved={(credential) => {
                            setCreating(false);
                            onChange(credential.name);
                          }} />
      )}
    </>
  );
}
