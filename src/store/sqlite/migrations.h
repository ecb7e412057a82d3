// The SQLite schema, as forward migrations. Migration i (1-based) takes a file
// from `PRAGMA user_version` i-1 to i. Never edit a migration that has shipped:
// add the next one. Column names and uniqueness rules must agree with
// src/schema.cc; the conformance suite checks they do.
#ifndef ENTITLE_SRC_STORE_SQLITE_MIGRATIONS_H_
#define ENTITLE_SRC_STORE_SQLITE_MIGRATIONS_H_

namespace entitle::internal {

inline constexpr const char* kMigrations[] = {
    // 1: every record kind.
    R"sql(
CREATE TABLE identities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL,
  pending_email TEXT,
  display_name TEXT NOT NULL,
  country TEXT NOT NULL,
  language TEXT NOT NULL,
  verified INTEGER NOT NULL,
  locked INTEGER NOT NULL,
  profile_complete INTEGER NOT NULL,
  password_hash TEXT NOT NULL,
  federated_subject TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_login_at INTEGER
);
CREATE UNIQUE INDEX identities_email ON identities(email);
CREATE INDEX identities_pending_email ON identities(pending_email);
CREATE INDEX identities_federated_subject ON identities(federated_subject);

CREATE TABLE organizations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  discoverable INTEGER NOT NULL,
  auto_approve_domain_joins INTEGER NOT NULL,
  federation_provider TEXT NOT NULL,
  maintenance_until INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  kind TEXT NOT NULL CHECK (kind IN ('employee', 'external')),
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (organization_id, identity_id)
) WITHOUT ROWID;
-- SPEC ORG-2: an identity is an employee of at most one organization.
CREATE UNIQUE INDEX memberships_one_employer ON memberships(identity_id)
  WHERE kind = 'employee';
CREATE INDEX memberships_identity ON memberships(identity_id);

CREATE TABLE roles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  permissions INTEGER NOT NULL,
  built_in INTEGER NOT NULL
);
CREATE UNIQUE INDEX roles_name ON roles(organization_id, name);

CREATE TABLE role_grants (
  organization_id INTEGER NOT NULL,
  identity_id INTEGER NOT NULL,
  role_id INTEGER NOT NULL REFERENCES roles(id),
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (organization_id, identity_id, role_id),
  FOREIGN KEY (organization_id, identity_id)
    REFERENCES memberships(organization_id, identity_id)
) WITHOUT ROWID;
CREATE INDEX role_grants_role ON role_grants(role_id);

CREATE TABLE groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups(organization_id, name);

CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  added_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, identity_id)
) WITHOUT ROWID;
CREATE INDEX group_members_identity ON group_members(identity_id);

CREATE TABLE domains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
  verification_token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  verified_at INTEGER
);
CREATE UNIQUE INDEX domains_org_name ON domains(organization_id, name);
-- SPEC ORG-9: a verified domain is owned by exactly one organization.
CREATE UNIQUE INDEX domains_one_owner ON domains(name) WHERE status = 'verified';
CREATE INDEX domains_name ON domains(name);

CREATE TABLE invitations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  email TEXT NOT NULL,
  kind TEXT NOT NULL,
  group_id INTEGER REFERENCES groups(id),
  status TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  invited_by INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER
);
CREATE UNIQUE INDEX invitations_token ON invitations(token_hash);
CREATE INDEX invitations_org_email ON invitations(organization_id, email);
CREATE INDEX invitations_email ON invitations(email);
CREATE INDEX invitations_group ON invitations(group_id);
CREATE INDEX invitations_invited_by ON invitations(invited_by);

CREATE TABLE request_links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  token_hash BLOB NOT NULL,
  enabled INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX request_links_token ON request_links(token_hash);
CREATE INDEX request_links_org ON request_links(organization_id);

CREATE TABLE join_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  source TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by INTEGER
);
CREATE INDEX join_requests_org ON join_requests(organization_id, status);
CREATE INDEX join_requests_identity ON join_requests(identity_id);
CREATE INDEX join_requests_decided_by ON join_requests(decided_by);

CREATE TABLE entitlements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  sku TEXT NOT NULL,
  seats INTEGER NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  countries TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX entitlements_org ON entitlements(organization_id);

CREATE TABLE license_assignments (
  entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  assigned_at INTEGER NOT NULL,
  PRIMARY KEY (entitlement_id, identity_id)
) WITHOUT ROWID;
CREATE INDEX license_assignments_identity ON license_assignments(identity_id);

CREATE TABLE pool_grants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
  identity_id INTEGER REFERENCES identities(id),
  group_id INTEGER REFERENCES groups(id),
  granted_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX pool_grants_identity ON pool_grants(entitlement_id, identity_id);
CREATE UNIQUE INDEX pool_grants_group ON pool_grants(entitlement_id, group_id);
CREATE INDEX pool_grants_by_identity ON pool_grants(identity_id);
CREATE INDEX pool_grants_by_group ON pool_grants(group_id);

CREATE TABLE projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
  name TEXT NOT NULL,
  region TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX projects_org ON projects(organization_id);
CREATE INDEX projects_entitlement ON projects(entitlement_id);

CREATE TABLE project_members (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  role TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (project_id, identity_id)
) WITHOUT ROWID;
CREATE INDEX project_members_identity ON project_members(identity_id);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  created_by INTEGER,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  request TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX jobs_org ON jobs(organization_id);
CREATE INDEX jobs_created_by ON jobs(created_by);

-- Audit and outbox records outlive what they name: no foreign keys.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor_id INTEGER,
  organization_id INTEGER,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_org ON audit(organization_id);
CREATE INDEX audit_actor ON audit(actor_id);
CREATE INDEX audit_at ON audit(at);

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  template_name TEXT NOT NULL,
  subject TEXT NOT NULL
);
CREATE INDEX outbox_recipient ON outbox(recipient);

CREATE TABLE link_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  purpose TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  new_email TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL
);
CREATE UNIQUE INDEX link_tokens_token ON link_tokens(token_hash);
CREATE INDEX link_tokens_identity ON link_tokens(identity_id, purpose);

CREATE TABLE device_checks (
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  device_id TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  PRIMARY KEY (identity_id, device_id)
) WITHOUT ROWID;
)sql",

    // 2: entitlement kinds (ENT-2, ENT-3) and pool usage history (ENT-12).
    R"sql(
ALTER TABLE entitlements ADD COLUMN kind TEXT NOT NULL DEFAULT 'floating'
  CHECK (kind IN ('floating', 'named'));

CREATE TABLE pool_usage (
  entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
  window_start INTEGER NOT NULL,
  peak_in_use INTEGER NOT NULL,
  refusals INTEGER NOT NULL,
  PRIMARY KEY (entitlement_id, window_start)
) WITHOUT ROWID;
)sql",

    // 3: archived projects (PRJ-5), and each project member's organization
    // with an index, so an organization's project users are counted and paged
    // from the index alone (PRJ-4).
    R"sql(
ALTER TABLE projects ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
  CHECK (status IN ('active', 'archived'));
CREATE INDEX projects_org_status ON projects(organization_id, status);

CREATE TABLE project_members_v3 (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  role TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (project_id, identity_id)
) WITHOUT ROWID;
INSERT INTO project_members_v3
  (project_id, identity_id, organization_id, role, added_at)
  SELECT m.project_id, m.identity_id, p.organization_id, m.role, m.added_at
  FROM project_members AS m JOIN projects AS p ON p.id = m.project_id;
DROP TABLE project_members;
ALTER TABLE project_members_v3 RENAME TO project_members;
CREATE INDEX project_members_identity ON project_members(identity_id);
CREATE INDEX project_members_org_identity
  ON project_members(organization_id, identity_id);
)sql",

    // 4: throttles of failed sign-ins and of link mails (SEC-10), one row per
    // (kind, subject); the index finds the rows that no longer count.
    R"sql(
CREATE TABLE throttles (
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  events TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, subject)
) WITHOUT ROWID;
CREATE INDEX throttles_expires_at ON throttles(expires_at);
)sql",

    // 5: per-member exceptions on a pool: a pool grant row with denied = 1
    // denies its identity (never a group) the pool, whatever groups give it.
    R"sql(
ALTER TABLE pool_grants ADD COLUMN denied INTEGER NOT NULL DEFAULT 0
  CHECK (denied IN (0, 1) AND (denied = 0 OR identity_id IS NOT NULL));
)sql",

    // 6: activations and sessions (ACT-1, ACT-6), the serving claim (ACT-3)
    // and the event feed (ACT-7). The indexes find the open activations (all
    // of them at a restart, or one pool's), an organization's sessions by
    // end time, the sessions past their retention, and an identity's.
    R"sql(
CREATE TABLE activations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  entitlement_id INTEGER NOT NULL REFERENCES entitlements(id),
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  identity_id INTEGER NOT NULL REFERENCES identities(id),
  device_id TEXT NOT NULL,
  seat INTEGER NOT NULL CHECK (seat >= 0),
  since INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  end_reason TEXT NOT NULL CHECK (end_reason IN ('open', 'released',
    'expired', 'revoked', 'force-released', 'period-ended', 'lost')),
  ended_at INTEGER,
  epoch INTEGER NOT NULL,
  CHECK ((end_reason = 'open') = (ended_at IS NULL))
);
CREATE INDEX activations_state ON activations(end_reason, id);
CREATE INDEX activations_entitlement
  ON activations(entitlement_id, end_reason);
CREATE INDEX activations_org_ended ON activations(organization_id, ended_at);
CREATE INDEX activations_ended ON activations(ended_at);
CREATE INDEX activations_identity ON activations(identity_id);

CREATE TABLE serving_claims (
  scope TEXT NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  host TEXT NOT NULL,
  process_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  claimed_at INTEGER NOT NULL,
  renewed_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE feed_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  organization_id INTEGER,
  entitlement_id INTEGER,
  identity_id INTEGER,
  device_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX feed_events_org ON feed_events(organization_id, id);
CREATE INDEX feed_events_kind ON feed_events(kind, id);
CREATE INDEX feed_events_at ON feed_events(at);
)sql",
};

inline constexpr int kMigrationCount =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_STORE_SQLITE_MIGRATIONS_H_
