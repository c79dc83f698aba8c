import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api } from "../api/client";
import { mapFieldErrors } from "../api/errors";
import { usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { ApiKey, ApiKeyCreated, User } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Empty, PageTitle, QueryState, Section } from "../components/States";
import { Time } from "../components/Values";

const ROLES = ["viewer", "trader", "risk", "admin"] as const;

function AddUser() {
  const qc = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<string[]>(["viewer"]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [other, setOther] = useState<string[]>([]);
  const m = useMutation({
    mutationFn: () => api<User>("/auth/users", { method: "POST", body: { username: username.trim(), password, roles } }),
    meta: { banner: false },
    onSuccess: () => {
      setUsername("");
      setPassword("");
      setRoles(["viewer"]);
      setErrors({});
      setOther([]);
      void qc.invalidateQueries({ queryKey: keys.users() });
    },
    onError: (e) => {
      const mapped = mapFieldErrors(e, { fields: ["username", "password", "roles"] });
      setErrors(mapped.fields);
      setOther(mapped.unmatched);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!/^[a-z][a-z0-9._-]{1,63}$/.test(username.trim())) errs.username = "2-64 characters: a lower-case letter, then letters, digits, '.', '_' or '-'";
    if (password.length < 12) errs.password = "at least 12 characters";
    if (!roles.length) errs.roles = "at least one role";
    setErrors(errs);
    setOther([]);
    if (!Object.keys(errs).length) m.mutate();
  }
  return (
    <form className="form" onSubmit={submit} data-testid="user-form" noValidate>
      {other.length ? <div className="form-error">{other.join("; ")}</div> : null}
      <div className="form-row">
        <div className={`field ${errors.username ? "has-error" : ""}`}>
          <label htmlFor="u-name">User name</label>
          <input id="u-name" data-testid="field-username" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
          {errors.username ? <div className="field-error" data-testid="field-error-username">{errors.username}</div> : null}
        </div>
        <div className={`field ${errors.password ? "has-error" : ""}`}>
          <label htmlFor="u-pass">Password</label>
          <input id="u-pass" type="password" data-testid="field-password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
          {errors.password ? <div className="field-error" data-testid="field-error-password">{errors.password}</div> : null}
        </div>
        <div className="field">
          <label>Roles</label>
          <div className="checks">
            {ROLES.map((r) => (
              <label key={r}>
                <input
                  type="checkbox"
                  data-testid={`field-roles-${r}`}
                  checked={roles.includes(r)}
                  onChange={(e) => setRoles((rs) => (e.target.checked ? [...rs, r] : rs.filter((x) => x !== r)))}
                />{" "}
                {r}
              </label>
            ))}
          </div>
          {errors.roles ? <div className="field-error" data-testid="field-error-roles">{errors.roles}</div> : null}
        </div>
        <button type="submit" className="btn btn-primary" data-testid="user-submit" disabled={m.isPending}>
          Add user
        </button>
      </div>
    </form>
  );
}

function UsersList() {
  const me = useUser();
  const qc = useQueryClient();
  const q = usePage<User>(keys.users(), "/auth/users", { poll: false });
  const toggle = useMutation({
    mutationFn: (u: User) => api<User>(`/auth/users/${encodeURIComponent(u.username)}`, { method: "PATCH", body: { disabled: !u.disabled } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.users() }),
  });
  return (
    <QueryState q={q} what="users" empty="No user.">
      {(d) => (
        <table className="table dense" data-testid="users-table">
          <thead>
            <tr>
              <th>User</th>
              <th>Roles</th>
              <th>State</th>
              <th>Added by</th>
              <th>Added</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {d.data.map((u) => (
              <tr key={u.username} data-testid={`user-row-${u.username}`}>
                <td>{u.username}</td>
                <td>{u.roles.join(", ")}</td>
                <td>{u.disabled ? <span className="neg">disabled</span> : <span className="pos">enabled</span>}</td>
                <td>{u.created_by}</td>
                <td>
                  <Time value={u.created_at} />
                </td>
                <td>
                  {u.username !== me?.name ? (
                    <button type="button" className="btn btn-small" data-testid={`user-toggle-${u.username}`} onClick={() => toggle.mutate(u)} disabled={toggle.isPending}>
                      {u.disabled ? "Enable" : "Disable"}
                    </button>
                  ) : (
                    <span className="muted">you</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </QueryState>
  );
}

function ApiKeys() {
  const qc = useQueryClient();
  const q = usePage<ApiKey>(keys.apiKeys(), "/auth/api-keys", { poll: false });
  const [name, setName] = useState("");
  const [role, setRole] = useState<string>("viewer");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoke, setRevoke] = useState<ApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => api<ApiKeyCreated>("/auth/api-keys", { method: "POST", body: { name: name.trim(), role } }),
    meta: { banner: false },
    onSuccess: (k) => {
      setCreated(k);
      setName("");
      setError(null);
      void qc.invalidateQueries({ queryKey: keys.apiKeys() });
    },
    onError: (e) => {
      const m = mapFieldErrors(e, { fields: ["name", "role"] });
      setError([...Object.values(m.fields), ...m.unmatched].join("; "));
    },
  });
  const revokeM = useMutation({
    mutationFn: (k: ApiKey) => api<ApiKey>(`/auth/api-keys/${encodeURIComponent(k.id)}`, { method: "DELETE" }),
    onSuccess: () => {
      setRevoke(null);
      void qc.invalidateQueries({ queryKey: keys.apiKeys() });
    },
  });
  return (
    <>
      <form
        className="form-row"
        data-testid="key-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!/^[a-z][a-z0-9._-]{1,63}$/.test(name.trim())) {
            setError("name: 2-64 characters: a lower-case letter, then letters, digits, '.', '_' or '-'");
            return;
          }
          create.mutate();
        }}
      >
        <div className="field">
          <label htmlFor="k-name">Key name</label>
          <input id="k-name" data-testid="field-key-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="ci-bot" />
        </div>
        <div className="field">
          <label htmlFor="k-role">Role</label>
          <select id="k-role" data-testid="field-key-role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn btn-primary" data-testid="key-submit" disabled={create.isPending}>
          Create key
        </button>
      </form>
      {error ? <div className="field-error" data-testid="field-error-key-name">{error}</div> : null}
      {created ? (
        <div className="notice" data-testid="key-created">
          <div>
            Key <strong>{created.name}</strong> ({created.role}): copy it now, it is shown only this once.
          </div>
          <div className="key-secret" data-testid="key-secret">
            <code>{created.key}</code>
          </div>
          <div className="btn-row">
            <button type="button" className="btn btn-small" onClick={() => void navigator.clipboard?.writeText(created.key)}>
              Copy
            </button>
            <button type="button" className="btn btn-small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      <QueryState q={q} what="API keys" empty="No API key.">
        {(d) => (
          <table className="table dense" data-testid="keys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Id</th>
                <th>Role</th>
                <th>Created by</th>
                <th>Created</th>
                <th>Revoked</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {d.data.map((k) => (
                <tr key={k.id} data-testid={`key-row-${k.id}`}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.id}</code>
                  </td>
                  <td>{k.role}</td>
                  <td>{k.created_by}</td>
                  <td>
                    <Time value={k.created_at} />
                  </td>
                  <td>{k.revoked_at ? <Time value={k.revoked_at} /> : <span className="pos">active</span>}</td>
                  <td>
                    {!k.revoked_at ? (
                      <button type="button" className="btn btn-small btn-danger" data-testid={`key-revoke-${k.id}`} onClick={() => setRevoke(k)}>
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
      {revoke ? (
        <ConfirmDialog title={`Revoke ${revoke.name}`} confirmLabel="Revoke" danger busy={revokeM.isPending} onCancel={() => setRevoke(null)} onConfirm={() => revokeM.mutate(revoke)}>
          <p className="confirm-text">Revoke {revoke.name}: from now on every call with this key is refused. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

export function Users() {
  const user = useUser();
  if (!can(user, "users.manage")) {
    return (
      <div className="page">
        <PageTitle>Users and API keys</PageTitle>
        <Empty>Only an admin manages users and API keys.</Empty>
      </div>
    );
  }
  return (
    <div className="page">
      <PageTitle>Users and API keys</PageTitle>
      <Section title="Add a user">
        <AddUser />
      </Section>
      <Section title="Users">
        <UsersList />
      </Section>
      <Section title="API keys">
        <ApiKeys />
      </Section>
    </div>
  );
}
