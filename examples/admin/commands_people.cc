// user, member, role and group: identities and who belongs where.
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "command.h"
#include "context.h"
#include "entitle/identities.h"
#include "entitle/organizations.h"
#include "fmt/core.h"
#include "views.h"

namespace entitle_admin {
namespace {

using entitle::IdentityId;
using entitle::OrganizationId;

// ------------------------------------------------------------------ user

int UserRegister(Context& c, const Args& a) {
  entitle::Profile profile{.display_name = a.Get("name"),
                           .country = a.Get("country"),
                           .language = a.Get("language")};
  absl::StatusOr<IdentityId> id =
      c.dir().identities().Register(c.actor(), a.positional[0], profile);
  if (!id.ok()) return c.Fail(id.status());
  c.out().Say(
      fmt::format("registered {} as identity #{}; a verification "
                  "link was sent",
                  c.EmailOf(*id), id->value()));
  c.out().Put("identity", id->value());
  return kExitOk;
}

int UserShow(Context& c, const Args& a) {
  absl::StatusOr<entitle::IdentityInfo> info =
      c.dir().identities().FindByEmail(c.actor(), a.positional[0]);
  if (!info.ok()) return c.Fail(info.status());
  c.out().Print("identity", IdentityFields(*info));
  return kExitOk;
}

int UserLock(Context& c, const Args& a) {
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[0]);
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s = c.dir().identities().Lock(c.actor(), *id); !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("locked {}: it cannot sign in until unlocked",
                          c.EmailOf(*id)));
  return kExitOk;
}

int UserUnlock(Context& c, const Args& a) {
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[0]);
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s = c.dir().identities().Unlock(c.actor(), *id); !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("unlocked {}", c.EmailOf(*id)));
  return kExitOk;
}

int UserResetPassword(Context& c, const Args& a) {
  if (absl::Status s =
          c.dir().identities().RequestPasswordReset(c.actor(), a.positional[0]);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(
      fmt::format("a password-reset link was sent to {}", a.positional[0]));
  return kExitOk;
}

int UserDelete(Context& c, const Args& a) {
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[0]);
  if (!id.ok()) return c.Fail(id.status());
  const std::string email = c.EmailOf(*id);
  if (absl::Status s = c.dir().identities().Delete(c.actor(), *id); !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(
      fmt::format("deleted {} with its memberships, licenses and "
                  "pending invitations",
                  email));
  return kExitOk;
}

// ------------------------------------------------------------------ member

int MemberList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::MemberInfo>> members =
      AllMembers(c, *org);
  if (!members.ok()) return c.Fail(members.status());
  c.out().Print("members", MembersTable(*members));
  return kExitOk;
}

int MemberAdd(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::MembershipKind> kind = ParseKind(a.Get("kind"));
  if (!kind.ok()) return c.Fail(kind.status());
  entitle::Organizations& orgs = c.dir().organizations();
  absl::Status s = *kind == entitle::MembershipKind::kEmployee
                       ? orgs.AddEmployee(c.actor(), *org, a.positional[1])
                       : orgs.AddExternal(c.actor(), *org, a.positional[1]);
  if (!s.ok()) return c.Fail(s);
  c.out().Say(fmt::format("added {} to organization #{} as {}", a.positional[1],
                          org->value(), KindName(*kind)));
  return kExitOk;
}

int MemberKind(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[1]);
  if (!id.ok()) return c.Fail(id.status());
  absl::StatusOr<entitle::MembershipKind> kind = ParseKind(a.positional[2]);
  if (!kind.ok()) return c.Fail(kind.status());
  if (absl::Status s = c.dir().organizations().ChangeMembershipKind(
          c.actor(), *org, *id, *kind);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(fmt::format("{} is now {} of organization #{}", c.EmailOf(*id),
                          *kind == entitle::MembershipKind::kEmployee
                              ? "an employee"
                              : "an external member",
                          org->value()));
  return kExitOk;
}

int MemberRemove(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[1]);
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s =
          c.dir().organizations().RemoveMember(c.actor(), *org, *id);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(
      fmt::format("removed {} from organization #{} (with its roles, "
                  "licenses and seats there)",
                  c.EmailOf(*id), org->value()));
  return kExitOk;
}

// ------------------------------------------------------------------ role

int RoleList(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<std::vector<entitle::RoleInfo>> roles =
      c.dir().organizations().ListRoles(c.actor(), *org);
  if (!roles.ok()) return c.Fail(roles.status());
  c.out().Print("roles", RolesTable(*roles));
  return kExitOk;
}

int RoleCreate(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<uint32_t> permissions = ParsePermissions(a.Get("permissions"));
  if (!permissions.ok()) return c.Fail(permissions.status());
  absl::StatusOr<entitle::RoleId> role = c.dir().organizations().CreateRole(
      c.actor(), *org, a.positional[1], *permissions);
  if (!role.ok()) return c.Fail(role.status());
  c.out().Say(fmt::format("created role #{} '{}' ({})", role->value(),
                          a.positional[1],
                          absl::StrJoin(PermissionNames(*permissions), ", ")));
  c.out().Put("role", role->value());
  return kExitOk;
}

int RoleGrantOrRevoke(Context& c, const Args& a, bool grant) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[1]);
  if (!id.ok()) return c.Fail(id.status());
  absl::StatusOr<entitle::RoleId> role = c.Role(*org, a.positional[2]);
  if (!role.ok()) return c.Fail(role.status());
  entitle::Organizations& orgs = c.dir().organizations();
  absl::Status s = grant ? orgs.GrantRole(c.actor(), *org, *id, *role)
                         : orgs.RevokeRole(c.actor(), *org, *id, *role);
  if (!s.ok()) return c.Fail(s);
  c.out().Say(fmt::format("{} role '{}' {} {}", grant ? "granted" : "revoked",
                          a.positional[2], grant ? "to" : "from",
                          c.EmailOf(*id)));
  return kExitOk;
}
int RoleGrant(Context& c, const Args& a) {
  return RoleGrantOrRevoke(c, a, true);
}
int RoleRevoke(Context& c, const Args& a) {
  return RoleGrantOrRevoke(c, a, false);
}

// ------------------------------------------------------------------ group

int GroupCreate(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::GroupId> group =
      c.dir().organizations().CreateGroup(c.actor(), *org, a.positional[1]);
  if (!group.ok()) return c.Fail(group.status());
  c.out().Say(
      fmt::format("created group #{} '{}'", group->value(), a.positional[1]));
  c.out().Put("group", group->value());
  return kExitOk;
}

int GroupAdd(Context& c, const Args& a) {
  absl::StatusOr<OrganizationId> org = c.Organization(a.positional[0]);
  if (!org.ok()) return c.Fail(org.status());
  absl::StatusOr<entitle::GroupId> group = c.Group(*org, a.positional[1]);
  if (!group.ok()) return c.Fail(group.status());
  absl::StatusOr<IdentityId> id = c.Identity(a.positional[2]);
  if (!id.ok()) return c.Fail(id.status());
  if (absl::Status s =
          c.dir().organizations().AddToGroup(c.actor(), *org, *group, *id);
      !s.ok()) {
    return c.Fail(s);
  }
  c.out().Say(
      fmt::format("added {} to group '{}'", c.EmailOf(*id), a.positional[1]));
  return kExitOk;
}

const Flag kKindFlag{"kind", "employee|external", "the membership kind", true};

}  // namespace

std::vector<Command> PeopleCommands() {
  return {
      {"user register",
       {"EMAIL"},
       {{"name", "NAME", "display name"},
        {"country", "CC", "ISO 3166-1 alpha-2 country code, e.g. SE"},
        {"language", "LANG", "preferred language (BCP 47), e.g. sv"}},
       "create an identity",
       "Creates an unverified identity (ID-3) and sends it a one-time link to "
       "set its password and verify the address.",
       "entitle-admin user register anna@acme.example --name 'Anna Berg' "
       "--country SE",
       UserRegister},
      {"user show",
       {"EMAIL"},
       {},
       "show an identity",
       "Shows an identity's profile and state: verified, locked, last login.",
       "entitle-admin user show anna@acme.example",
       UserShow,
       nullptr,
       kReadOnly},
      {"user lock",
       {"EMAIL"},
       {},
       "lock an identity (ADM-3)",
       "Locks sign-in (ID-9). Memberships and licenses stay; a device that "
       "checked access within the offline grace keeps working until it ends.",
       "entitle-admin --as anna@acme.example user lock ben@acme.example",
       UserLock},
      {"user unlock",
       {"EMAIL"},
       {},
       "unlock an identity (ADM-3)",
       "Restores sign-in for a locked identity (ID-9).",
       "entitle-admin user unlock ben@acme.example",
       UserUnlock},
      {"user reset-password",
       {"EMAIL"},
       {},
       "send a password-reset link (ADM-3)",
       "Sends the identity a one-time password-reset link (ID-6); older reset "
       "links die. The link is printed only with --show-links.",
       "entitle-admin --as anna@acme.example user reset-password "
       "ben@acme.example",
       UserResetPassword},
      {"user delete",
       {"EMAIL"},
       {},
       "delete an identity",
       "Deletes the identity with its memberships, licenses, seats, pending "
       "invitations and join requests in one transaction (ID-13).",
       "entitle-admin user delete ben@acme.example",
       UserDelete},

      {"member list",
       {"ORG"},
       {},
       "list an organization's members",
       "Lists every member with kind, status, roles and lock state.",
       "entitle-admin member list 1",
       MemberList,
       nullptr,
       kReadOnly},
      {"member add",
       {"ORG", "EMAIL"},
       {kKindFlag},
       "add an identity as a member",
       "Adds an existing identity directly (ORG-10 for employees: the address "
       "must be in one of the organization's verified domains; ORG-3 for "
       "external members). Invite addresses that have no identity.",
       "entitle-admin member add 1 ben@acme.example --kind employee",
       MemberAdd},
      {"member kind",
       {"ORG", "EMAIL", "KIND"},
       {},
       "make a member an employee or external",
       "Upgrades an external member to employee (ORG-2 moves it from its "
       "previous employer) or turns an employee into an external member (its "
       "roles end). KIND is employee or external.",
       "entitle-admin member kind 1 cleo@partner.example employee",
       MemberKind},
      {"member remove",
       {"ORG", "EMAIL"},
       {},
       "end a membership",
       "Ends the membership with its roles, group places, licenses, pool "
       "access and seats in that organization (ORG-5).",
       "entitle-admin member remove 1 ben@acme.example",
       MemberRemove},

      {"role list",
       {"ORG"},
       {},
       "list roles",
       "Lists the organization's roles and their permissions (ORG-7).",
       "entitle-admin role list 1",
       RoleList,
       nullptr,
       kReadOnly},
      {"role create",
       {"ORG", "NAME"},
       {{"permissions", "LIST",
         "comma-separated: users,admins,licenses,domains,usage,projects",
         true}},
       "create a custom role",
       "Creates a named role with the given permissions (ORG-7).",
       "entitle-admin role create 1 'License desk' --permissions "
       "licenses,usage",
       RoleCreate},
      {"role grant",
       {"ORG", "EMAIL", "ROLE"},
       {},
       "grant a role to an employee",
       "Grants the role named ROLE; roles are for employees only (ORG-4).",
       "entitle-admin role grant 1 ben@acme.example Co-Administrator",
       RoleGrant},
      {"role revoke",
       {"ORG", "EMAIL", "ROLE"},
       {},
       "revoke a role",
       "Revokes the role named ROLE; the last administrator keeps theirs "
       "(ORG-4).",
       "entitle-admin role revoke 1 ben@acme.example Co-Administrator",
       RoleRevoke},

      {"group create",
       {"ORG", "NAME"},
       {},
       "create a group",
       "Creates a named group (ORG-8); a group can be given pool access "
       "(license grant ... --group NAME).",
       "entitle-admin group create 1 Design",
       GroupCreate},
      {"group add",
       {"ORG", "GROUP", "EMAIL"},
       {},
       "add a member to a group",
       "Adds a member of the organization to the group named GROUP.",
       "entitle-admin group add 1 Design ben@acme.example",
       GroupAdd},
  };
}

}  // namespace entitle_admin
