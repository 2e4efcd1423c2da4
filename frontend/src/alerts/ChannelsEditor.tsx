/** Where a rule's notifications go: email addresses, a Slack incoming webhook, a generic webhook (each
 * URL given directly or as the name of a stored credential, which keeps it secret). */
import { useCredentialNames } from "@/hooks/use-credential-names";

import { emptyChannel, MAX_CHANNELS, type ChannelForm, type FormErrors } from "./rule-form";
import type { ChannelType } from "./types";

const TYPE_LABELS: Record<ChannelType, string> = { email: "Email", slack: "Slack webhook", webhook: "Webhook (JSON POST)" };

interface Props {
  channels: ChannelForm[];
  errors: FormErrors;
  onChange: (channels: ChannelForm[]) => void;
}

export function ChannelsEditor({ channels, errors, onChange }: Props) {
  const credentials = useCredentialNames();
  const set = (index: number, patch: Partial<ChannelForm>) =>
    onChange(channels.map((channel, i) => (i === index ? { ...channel, ...patch } : channel)));
  return (
    <fieldset className="alert-channels">
      <legend className="field-label">Notify</legend>
      {channels.length === 0 && <p className="field-help">No channels: the rule records its incidents without telling anyone.</p>}
      <datalist id="alert-credential-names">{credentials.map((name) => <option key={name} value={name} />)}</datalist>
      {channels.map((channel, index) => {
        const path = `channels[${index}]`;
        const error = errors[`${path}.to`] ?? errors[`${path}.url`] ?? errors[`${path}.credential`] ?? errors[`${path}.type`] ?? errors[path];
        return (
          <div key={index} className={`alert-channel${error ? " invalid" : ""}`} data-testid={`channel-${index}`}>
            <select aria-label={`Channel ${index + 1} type`} value={channel.type}
                    onChange={(event) => set(index, { ...emptyChannel(event.target.value as ChannelType) })}>
              {(Object.keys(TYPE_LABELS) as ChannelType[]).map((type) => <option key={type} value={type}>{TYPE_LABELS[type]}</option>)}
            </select>
            {channel.type === "email" ? (
              <input aria-label={`Channel ${index + 1} email to`} placeholder="ops@example.com, oncall@example.com"
                     value={channel.to} onChange={(event) => set(index, { to: event.target.value })} />
            ) : (
              <>
                <select aria-label={`Channel ${index + 1} URL from`} value={channel.mode} className="alert-channel-mode"
                        onChange={(event) => set(index, { mode: event.target.value as ChannelForm["mode"] })}>
                  <option value="credential">Credential</option>
                  <option value="url">URL</option>
                </select>
                {channel.mode === "credential" ? (
                  <input aria-label={`Channel ${index + 1} credential`} list="alert-credential-names" placeholder="SLACK_WEBHOOK_URL"
                         value={channel.credential} onChange={(event) => set(index, { credential: event.target.value })} />
                ) : (
                  <input aria-label={`Channel ${index + 1} URL`} placeholder="https://hooks.example.com/..."
                         value={channel.url} onChange={(event) => set(index, { url: event.target.value })} />
                )}
              </>
            )}
            <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove channel ${index + 1}`}
                    onClick={() => onChange(channels.filter((_, i) => i !== index))}>✕</button>
            {error && <p className="field-error alert-channel-error">{error}</p>}
          </div>
        );
      })}
      {errors.channels && <p className="field-error">{errors.channels}</p>}
      <div className="btn-group">
        {(Object.keys(TYPE_LABELS) as ChannelType[]).map((type) => (
          <button key={type} type="button" className="btn btn-sm" disabled={channels.length >= MAX_CHANNELS}
                  onClick={() => onChange([...channels, emptyChannel(type)])}>
            + {TYPE_LABELS[type]}
          </button>
        ))}
      </div>
    </fieldset>
  );
}
