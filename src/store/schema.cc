#include "store/schema.h"

#include <cstdlib>
#include <initializer_list>
#include <string_view>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle::internal {
namespace {

// ------------------------------------------------------------------ codecs

template <typename E>
struct EnumNames;  // static constexpr std::string_view kNames[] in value order.

#define ENTITLE_ENUM_NAMES(E, ...)                              \
  template <>                                                   \
  struct EnumNames<E> {                                         \
    static constexpr std::string_view kNames[] = {__VA_ARGS__}; \
  }
ENTITLE_ENUM_NAMES(MembershipKind, "employee", "external");
ENTITLE_ENUM_NAMES(EntitlementKind, "floating", "named");
ENTITLE_ENUM_NAMES(MembershipStatus, "active", "pending-profile");
ENTITLE_ENUM_NAMES(DomainStatus, "pending", "verified");
ENTITLE_ENUM_NAMES(InvitationKind, "employee", "external", "group",
                   "first-administrator");
ENTITLE_ENUM_NAMES(InvitationStatus, "new", "accepted", "rejected", "revoked",
                   "superseded");
ENTITLE_ENUM_NAMES(JoinRequestSource, "link", "discovery");
ENTITLE_ENUM_NAMES(JoinRequestStatus, "pending", "approved", "rejected");
ENTITLE_ENUM_NAMES(ProjectRole, "user", "admin");
ENTITLE_ENUM_NAMES(ProjectStatus, "active", "archived");
ENTITLE_ENUM_NAMES(JobStatus, "queued", "running", "done", "failed");
ENTITLE_ENUM_NAMES(LinkPurpose, "verify-email", "password-reset",
                   "email-change");
ENTITLE_ENUM_NAMES(LinkStatus, "active", "used", "superseded");
ENTITLE_ENUM_NAMES(ThrottleKind, "mail", "sign-in-client", "sign-in-identity");
ENTITLE_ENUM_NAMES(ActivationEnd, "open", "released", "expired", "revoked",
                   "force-released", "period-ended", "lost");
ENTITLE_ENUM_NAMES(FeedEventKind, "checkout", "release", "expiry", "refusal",
                   "force-release", "revocation", "period-end",
                   "employee-organization-changed");
#undef ENTITLE_ENUM_NAMES

template <typename T, typename = void>
struct Codec;

template <>
struct Codec<int64_t> {
  static Value Encode(int64_t v) { return v; }
  static bool Decode(const Value& v, int64_t* out) {
    const int64_t* p = std::get_if<int64_t>(&v);
    if (p == nullptr) return false;
    *out = *p;
    return true;
  }
};

template <>
struct Codec<uint32_t> {
  static Value Encode(uint32_t v) { return static_cast<int64_t>(v); }
  static bool Decode(const Value& v, uint32_t* out) {
    const int64_t* p = std::get_if<int64_t>(&v);
    if (p == nullptr || *p < 0 || *p > 0xffffffffLL) return false;
    *out = static_cast<uint32_t>(*p);
    return true;
  }
};

template <>
struct Codec<bool> {
  static Value Encode(bool v) { return int64_t{v ? 1 : 0}; }
  static bool Decode(const Value& v, bool* out) {
    const int64_t* p = std::get_if<int64_t>(&v);
    if (p == nullptr || (*p != 0 && *p != 1)) return false;
    *out = *p == 1;
    return true;
  }
};

template <>
struct Codec<std::string> {
  static Value Encode(const std::string& v) { return v; }
  static bool Decode(const Value& v, std::string* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    *out = *p;
    return true;
  }
};

template <>
struct Codec<Email> {
  static Value Encode(const Email& v) { return v.str(); }
  static bool Decode(const Value& v, Email* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    if (p->empty()) {
      *out = Email();
      return true;
    }
    absl::StatusOr<Email> email = Email::Parse(*p);
    // A stored address is always normalized; anything else was not written
    // by entitle.
    if (!email.ok() || email->str() != *p) return false;
    *out = *std::move(email);
    return true;
  }
};

template <>
struct Codec<absl::Time> {
  static Value Encode(absl::Time v) { return absl::ToUnixMicros(v); }
  static bool Decode(const Value& v, absl::Time* out) {
    const int64_t* p = std::get_if<int64_t>(&v);
    if (p == nullptr) return false;
    *out = absl::FromUnixMicros(*p);
    return true;
  }
};

template <typename Tag>
struct Codec<Id<Tag>> {
  static Value Encode(Id<Tag> v) { return v.value(); }
  static bool Decode(const Value& v, Id<Tag>* out) {
    const int64_t* p = std::get_if<int64_t>(&v);
    if (p == nullptr) return false;
    *out = Id<Tag>(*p);
    return true;
  }
};

template <>
struct Codec<DeviceId> {
  static Value Encode(const DeviceId& v) { return v.value(); }
  static bool Decode(const Value& v, DeviceId* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    *out = DeviceId(*p);
    return true;
  }
};

template <typename E>
struct Codec<E, std::enable_if_t<std::is_enum_v<E>>> {
  static Value Encode(E v) {
    const auto index = static_cast<size_t>(v);
    const auto& names = EnumNames<E>::kNames;
    if (index >= std::size(names)) return std::string("invalid");
    return std::string(names[index]);
  }
  static bool Decode(const Value& v, E* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    const auto& names = EnumNames<E>::kNames;
    for (size_t i = 0; i < std::size(names); ++i) {
      if (names[i] == *p) {
        *out = static_cast<E>(i);
        return true;
      }
    }
    return false;
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static Value Encode(const std::optional<T>& v) {
    if (!v.has_value()) return std::monostate();
    return Codec<T>::Encode(*v);
  }
  static bool Decode(const Value& v, std::optional<T>* out) {
    if (std::holds_alternative<std::monostate>(v)) {
      out->reset();
      return true;
    }
    T value;
    if (!Codec<T>::Decode(v, &value)) return false;
    *out = std::move(value);
    return true;
  }
};

// Country lists: codes joined by ','. Codes are ISO 3166-1 alpha-2, so they
// never hold a comma themselves.
template <>
struct Codec<std::vector<std::string>> {
  static Value Encode(const std::vector<std::string>& v) {
    return absl::StrJoin(v, ",");
  }
  static bool Decode(const Value& v, std::vector<std::string>* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    out->clear();
    if (p->empty()) return true;
    for (absl::string_view part : absl::StrSplit(*p, ',')) {
      out->emplace_back(part);
    }
    return true;
  }
};

// Event times: Unix microseconds joined by ','.
template <>
struct Codec<std::vector<absl::Time>> {
  static Value Encode(const std::vector<absl::Time>& v) {
    return absl::StrJoin(v, ",", [](std::string* out, absl::Time t) {
      absl::StrAppend(out, absl::ToUnixMicros(t));
    });
  }
  static bool Decode(const Value& v, std::vector<absl::Time>* out) {
    const std::string* p = std::get_if<std::string>(&v);
    if (p == nullptr) return false;
    out->clear();
    if (p->empty()) return true;
    for (absl::string_view part : absl::StrSplit(*p, ',')) {
      int64_t micros = 0;
      if (!absl::SimpleAtoi(part, &micros)) return false;
      out->push_back(absl::FromUnixMicros(micros));
    }
    return true;
  }
};

absl::Status Corrupt(std::string_view table, std::string_view column) {
  return MakeError(
      absl::StatusCode::kDataLoss, Reason::kStoreCorrupt,
      absl::StrCat("the store holds a value in ", AbslView(table), ".",
                   AbslView(column), " that this version cannot read"));
}

// ------------------------------------------------------------------ builders

template <typename R>
class SchemaBuilder {
 public:
  SchemaBuilder(std::string_view table, bool auto_id, int key_columns)
      : schema_(new TableSchema<R>()) {
    schema_->table = table;
    schema_->auto_id = auto_id;
    schema_->key_columns = key_columns;
  }

  template <typename T>
  SchemaBuilder& Col(std::string_view name, T R::*member) {
    const std::string_view table = schema_->table;
    schema_->columns.push_back(Column<R>{
        name, [member](const R& r) { return Codec<T>::Encode(r.*member); },
        [member, table, name](R& r, const Value& v) {
          if (!Codec<T>::Decode(v, &(r.*member))) return Corrupt(table, name);
          return absl::OkStatus();
        }});
    schema_->column_names.push_back(name);
    return *this;
  }

  // A column of raw bytes.
  SchemaBuilder& BlobCol(std::string_view name, std::string R::*member) {
    const std::string_view table = schema_->table;
    schema_->columns.push_back(
        Column<R>{name, [member](const R& r) { return Value(Blob{r.*member}); },
                  [member, table, name](R& r, const Value& v) {
                    const Blob* blob = std::get_if<Blob>(&v);
                    if (blob == nullptr) return Corrupt(table, name);
                    r.*member = blob->bytes;
                    return absl::OkStatus();
                  }});
    schema_->column_names.push_back(name);
    return *this;
  }

  template <typename F, typename T>
  SchemaBuilder& Where(std::string_view column, std::optional<T> F::*member,
                       CompareOp op = CompareOp::kEq) {
    schema_->filters.push_back(FilterField<typename R::Filter>{
        IndexOf(column), op, [member](const F& f) -> std::optional<Value> {
          if (!(f.*member).has_value()) return std::nullopt;
          return Codec<T>::Encode(*(f.*member));
        }});
    return *this;
  }

  template <typename F>
  SchemaBuilder& WhereBlob(std::string_view column,
                           std::optional<std::string> F::*member) {
    schema_->filters.push_back(FilterField<typename R::Filter>{
        IndexOf(column), CompareOp::kEq,
        [member](const F& f) -> std::optional<Value> {
          if (!(f.*member).has_value()) return std::nullopt;
          return Value(Blob{*(f.*member)});
        }});
    return *this;
  }

  SchemaBuilder& Unique(std::initializer_list<std::string_view> columns) {
    schema_->uniques.push_back(UniqueIndex{Indexes(columns), -1, Value()});
    return *this;
  }

  SchemaBuilder& UniqueWhere(std::initializer_list<std::string_view> columns,
                             std::string_view where_column, Value where_value) {
    schema_->uniques.push_back(UniqueIndex{
        Indexes(columns), IndexOf(where_column), std::move(where_value)});
    return *this;
  }

  SchemaBuilder& References(std::initializer_list<std::string_view> columns,
                            std::string_view parent_table) {
    schema_->references.push_back(Reference{Indexes(columns), parent_table});
    return *this;
  }

  const TableSchema<R>& Build(
      std::function<Row(const typename R::Key&)> key_row,
      std::function<typename R::Key(const R&)> key_of_record) {
    schema_->key_row = std::move(key_row);
    schema_->key_of_record = std::move(key_of_record);
    return *schema_;
  }

  // For kinds keyed by their own id.
  const TableSchema<R>& BuildWithIdKey() {
    return Build([](const typename R::Key& id) { return Row{id.value()}; },
                 [](const R& r) { return r.id; });
  }

 private:
  int IndexOf(std::string_view column) const {
    for (size_t i = 0; i < schema_->column_names.size(); ++i) {
      if (schema_->column_names[i] == column) return static_cast<int>(i);
    }
    std::abort();  // A schema naming a column it does not have is a bug here.
  }
  std::vector<int> Indexes(std::initializer_list<std::string_view> columns) {
    std::vector<int> indexes;
    for (std::string_view column : columns) indexes.push_back(IndexOf(column));
    return indexes;
  }

  TableSchema<R>* schema_;  // Never freed: schemas live for the process.
};

}  // namespace

bool Matches(const Value& value, const Condition& condition) {
  if (std::holds_alternative<std::monostate>(value) ||
      value.index() != condition.value.index()) {
    return false;
  }
  switch (condition.op) {
    case CompareOp::kEq:
      return value == condition.value;
    case CompareOp::kGe:
      return value >= condition.value;
    case CompareOp::kGt:
      return value > condition.value;
    case CompareOp::kLt:
      return value < condition.value;
  }
  return false;
}

bool MatchesAll(const Row& row, const std::vector<Condition>& conditions) {
  for (const Condition& condition : conditions) {
    if (!Matches(row[condition.column], condition)) return false;
  }
  return true;
}

// ------------------------------------------------------------------ tables

template <>
const TableSchema<IdentityRecord>& SchemaOf<IdentityRecord>() {
  using R = IdentityRecord;
  using F = IdentityFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("identities", /*auto_id=*/true, /*key_columns=*/1)
          .Col("id", &R::id)
          .Col("email", &R::email)
          .Col("pending_email", &R::pending_email)
          .Col("display_name", &R::display_name)
          .Col("country", &R::country)
          .Col("language", &R::language)
          .Col("verified", &R::verified)
          .Col("locked", &R::locked)
          .Col("profile_complete", &R::profile_complete)
          .Col("password_hash", &R::password_hash)
          .Col("federated_subject", &R::federated_subject)
          .Col("created_at", &R::created_at)
          .Col("last_login_at", &R::last_login_at)
          .Where("email", &F::email)
          .Where("pending_email", &F::pending_email)
          .Where("federated_subject", &F::federated_subject)
          .Unique({"email"})
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<OrganizationRecord>& SchemaOf<OrganizationRecord>() {
  using R = OrganizationRecord;
  using F = OrganizationFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("organizations", true, 1)
          .Col("id", &R::id)
          .Col("name", &R::name)
          .Col("discoverable", &R::discoverable)
          .Col("auto_approve_domain_joins", &R::auto_approve_domain_joins)
          .Col("federation_provider", &R::federation_provider)
          .Col("maintenance_until", &R::maintenance_until)
          .Col("created_at", &R::created_at)
          .Where("discoverable", &F::discoverable)
          .Where("federation_provider", &F::federation_provider)
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<MembershipRecord>& SchemaOf<MembershipRecord>() {
  using R = MembershipRecord;
  using F = MembershipFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("memberships", false, 2)
          .Col("organization_id", &R::organization_id)
          .Col("identity_id", &R::identity_id)
          .Col("kind", &R::kind)
          .Col("status", &R::status)
          .Col("created_at", &R::created_at)
          .Where("organization_id", &F::organization_id)
          .Where("identity_id", &F::identity_id)
          .Where("kind", &F::kind)
          .Where("status", &F::status)
          .UniqueWhere({"identity_id"}, "kind", std::string("employee"))
          .References({"organization_id"}, "organizations")
          .References({"identity_id"}, "identities")
          .Build(
              [](const MembershipKey& key) {
                return Row{key.organization_id.value(),
                           key.identity_id.value()};
              },
              [](const MembershipRecord& r) {
                return MembershipKey{r.organization_id, r.identity_id};
              });
  return schema;
}

template <>
const TableSchema<RoleRecord>& SchemaOf<RoleRecord>() {
  using R = RoleRecord;
  using F = RoleFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("roles", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("name", &R::name)
          .Col("permissions", &R::permissions)
          .Col("built_in", &R::built_in)
          .Where("organization_id", &F::organization_id)
          .Where("name", &F::name)
          .Unique({"organization_id", "name"})
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<RoleGrantRecord>& SchemaOf<RoleGrantRecord>() {
  using R = RoleGrantRecord;
  using F = RoleGrantFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("role_grants", false, 3)
          .Col("organization_id", &R::organization_id)
          .Col("identity_id", &R::identity_id)
          .Col("role_id", &R::role_id)
          .Col("granted_at", &R::granted_at)
          .Where("organization_id", &F::organization_id)
          .Where("identity_id", &F::identity_id)
          .Where("role_id", &F::role_id)
          .References({"organization_id", "identity_id"}, "memberships")
          .References({"role_id"}, "roles")
          .Build(
              [](const RoleGrantKey& key) {
                return Row{key.organization_id.value(), key.identity_id.value(),
                           key.role_id.value()};
              },
              [](const RoleGrantRecord& r) {
                return RoleGrantKey{r.organization_id, r.identity_id,
                                    r.role_id};
              });
  return schema;
}

template <>
const TableSchema<GroupRecord>& SchemaOf<GroupRecord>() {
  using R = GroupRecord;
  using F = GroupFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("groups", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("name", &R::name)
          .Col("created_at", &R::created_at)
          .Where("organization_id", &F::organization_id)
          .Where("name", &F::name)
          .Unique({"organization_id", "name"})
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<GroupMemberRecord>& SchemaOf<GroupMemberRecord>() {
  using R = GroupMemberRecord;
  using F = GroupMemberFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("group_members", false, 2)
          .Col("group_id", &R::group_id)
          .Col("identity_id", &R::identity_id)
          .Col("added_at", &R::added_at)
          .Where("group_id", &F::group_id)
          .Where("identity_id", &F::identity_id)
          .References({"group_id"}, "groups")
          .References({"identity_id"}, "identities")
          .Build(
              [](const GroupMemberKey& key) {
                return Row{key.group_id.value(), key.identity_id.value()};
              },
              [](const GroupMemberRecord& r) {
                return GroupMemberKey{r.group_id, r.identity_id};
              });
  return schema;
}

template <>
const TableSchema<DomainRecord>& SchemaOf<DomainRecord>() {
  using R = DomainRecord;
  using F = DomainFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("domains", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("name", &R::name)
          .Col("status", &R::status)
          .BlobCol("verification_token_hash", &R::verification_token_hash)
          .Col("created_at", &R::created_at)
          .Col("verified_at", &R::verified_at)
          .Where("organization_id", &F::organization_id)
          .Where("name", &F::name)
          .Where("status", &F::status)
          .Unique({"organization_id", "name"})
          .UniqueWhere({"name"}, "status", std::string("verified"))
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<InvitationRecord>& SchemaOf<InvitationRecord>() {
  using R = InvitationRecord;
  using F = InvitationFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("invitations", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("email", &R::email)
          .Col("kind", &R::kind)
          .Col("group_id", &R::group_id)
          .Col("status", &R::status)
          .BlobCol("token_hash", &R::token_hash)
          .Col("invited_by", &R::invited_by)
          .Col("created_at", &R::created_at)
          .Col("expires_at", &R::expires_at)
          .Col("decided_at", &R::decided_at)
          .Where("organization_id", &F::organization_id)
          .Where("email", &F::email)
          .Where("kind", &F::kind)
          .Where("status", &F::status)
          .WhereBlob("token_hash", &F::token_hash)
          .Where("invited_by", &F::invited_by)
          .Unique({"token_hash"})
          .References({"organization_id"}, "organizations")
          .References({"group_id"}, "groups")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<RequestLinkRecord>& SchemaOf<RequestLinkRecord>() {
  using R = RequestLinkRecord;
  using F = RequestLinkFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("request_links", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .BlobCol("token_hash", &R::token_hash)
          .Col("enabled", &R::enabled)
          .Col("created_at", &R::created_at)
          .Where("organization_id", &F::organization_id)
          .WhereBlob("token_hash", &F::token_hash)
          .Unique({"token_hash"})
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<JoinRequestRecord>& SchemaOf<JoinRequestRecord>() {
  using R = JoinRequestRecord;
  using F = JoinRequestFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("join_requests", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("identity_id", &R::identity_id)
          .Col("source", &R::source)
          .Col("status", &R::status)
          .Col("created_at", &R::created_at)
          .Col("decided_at", &R::decided_at)
          .Col("decided_by", &R::decided_by)
          .Where("organization_id", &F::organization_id)
          .Where("identity_id", &F::identity_id)
          .Where("status", &F::status)
          .Where("decided_by", &F::decided_by)
          .References({"organization_id"}, "organizations")
          .References({"identity_id"}, "identities")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<EntitlementRecord>& SchemaOf<EntitlementRecord>() {
  using R = EntitlementRecord;
  using F = EntitlementFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("entitlements", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("sku", &R::sku)
          .Col("kind", &R::kind)
          .Col("seats", &R::seats)
          .Col("period_start", &R::period_start)
          .Col("period_end", &R::period_end)
          .Col("countries", &R::countries)
          .Col("created_at", &R::created_at)
          .Where("organization_id", &F::organization_id)
          .Where("sku", &F::sku)
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<LicenseAssignmentRecord>&
SchemaOf<LicenseAssignmentRecord>() {
  using R = LicenseAssignmentRecord;
  using F = LicenseAssignmentFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("license_assignments", false, 2)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("identity_id", &R::identity_id)
          .Col("assigned_at", &R::assigned_at)
          .Where("entitlement_id", &F::entitlement_id)
          .Where("identity_id", &F::identity_id)
          .References({"entitlement_id"}, "entitlements")
          .References({"identity_id"}, "identities")
          .Build(
              [](const LicenseAssignmentKey& key) {
                return Row{key.entitlement_id.value(), key.identity_id.value()};
              },
              [](const LicenseAssignmentRecord& r) {
                return LicenseAssignmentKey{r.entitlement_id, r.identity_id};
              });
  return schema;
}

template <>
const TableSchema<PoolGrantRecord>& SchemaOf<PoolGrantRecord>() {
  using R = PoolGrantRecord;
  using F = PoolGrantFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("pool_grants", true, 1)
          .Col("id", &R::id)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("identity_id", &R::identity_id)
          .Col("group_id", &R::group_id)
          .Col("granted_at", &R::granted_at)
          .Col("denied", &R::denied)
          .Where("entitlement_id", &F::entitlement_id)
          .Where("identity_id", &F::identity_id)
          .Where("group_id", &F::group_id)
          .Where("denied", &F::denied)
          .Unique({"entitlement_id", "identity_id"})
          .Unique({"entitlement_id", "group_id"})
          .References({"entitlement_id"}, "entitlements")
          .References({"identity_id"}, "identities")
          .References({"group_id"}, "groups")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<ProjectRecord>& SchemaOf<ProjectRecord>() {
  using R = ProjectRecord;
  using F = ProjectFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("projects", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("name", &R::name)
          .Col("region", &R::region)
          .Col("status", &R::status)
          .Col("created_at", &R::created_at)
          .Where("organization_id", &F::organization_id)
          .Where("entitlement_id", &F::entitlement_id)
          .Where("region", &F::region)
          .Where("status", &F::status)
          .References({"organization_id"}, "organizations")
          .References({"entitlement_id"}, "entitlements")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<ProjectMemberRecord>& SchemaOf<ProjectMemberRecord>() {
  using R = ProjectMemberRecord;
  using F = ProjectMemberFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("project_members", false, 2)
          .Col("project_id", &R::project_id)
          .Col("identity_id", &R::identity_id)
          .Col("organization_id", &R::organization_id)
          .Col("role", &R::role)
          .Col("added_at", &R::added_at)
          .Where("project_id", &F::project_id)
          .Where("identity_id", &F::identity_id)
          .Where("organization_id", &F::organization_id)
          .References({"project_id"}, "projects")
          .References({"identity_id"}, "identities")
          .References({"organization_id"}, "organizations")
          .Build(
              [](const ProjectMemberKey& key) {
                return Row{key.project_id.value(), key.identity_id.value()};
              },
              [](const ProjectMemberRecord& r) {
                return ProjectMemberKey{r.project_id, r.identity_id};
              });
  return schema;
}

template <>
const TableSchema<JobRecord>& SchemaOf<JobRecord>() {
  using R = JobRecord;
  using F = JobFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("jobs", true, 1)
          .Col("id", &R::id)
          .Col("organization_id", &R::organization_id)
          .Col("created_by", &R::created_by)
          .Col("kind", &R::kind)
          .Col("status", &R::status)
          .Col("request", &R::request)
          .Col("result", &R::result)
          .Col("created_at", &R::created_at)
          .Col("finished_at", &R::finished_at)
          .Where("organization_id", &F::organization_id)
          .Where("status", &F::status)
          .Where("created_by", &F::created_by)
          .References({"organization_id"}, "organizations")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<AuditRecord>& SchemaOf<AuditRecord>() {
  using R = AuditRecord;
  using F = AuditFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("audit", true, 1)
          .Col("id", &R::id)
          .Col("at", &R::at)
          .Col("actor_id", &R::actor_id)
          .Col("organization_id", &R::organization_id)
          .Col("action", &R::action)
          .Col("target", &R::target)
          .Col("outcome", &R::outcome)
          .Col("detail", &R::detail)
          .Where("organization_id", &F::organization_id)
          .Where("actor_id", &F::actor_id)
          .Where("action", &F::action)
          .Where("at", &F::since, CompareOp::kGe)
          .Where("at", &F::until, CompareOp::kLt)
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<OutboxRecord>& SchemaOf<OutboxRecord>() {
  using R = OutboxRecord;
  using F = OutboxFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("outbox", true, 1)
          .Col("id", &R::id)
          .Col("created_at", &R::created_at)
          .Col("recipient", &R::recipient)
          .Col("template_name", &R::template_name)
          .Col("subject", &R::subject)
          .Where("recipient", &F::recipient)
          .Where("template_name", &F::template_name)
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<LinkTokenRecord>& SchemaOf<LinkTokenRecord>() {
  using R = LinkTokenRecord;
  using F = LinkTokenFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("link_tokens", true, 1)
          .Col("id", &R::id)
          .Col("identity_id", &R::identity_id)
          .Col("purpose", &R::purpose)
          .BlobCol("token_hash", &R::token_hash)
          .Col("new_email", &R::new_email)
          .Col("created_at", &R::created_at)
          .Col("expires_at", &R::expires_at)
          .Col("status", &R::status)
          .Where("identity_id", &F::identity_id)
          .Where("purpose", &F::purpose)
          .Where("status", &F::status)
          .WhereBlob("token_hash", &F::token_hash)
          .Unique({"token_hash"})
          .References({"identity_id"}, "identities")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<DeviceCheckRecord>& SchemaOf<DeviceCheckRecord>() {
  using R = DeviceCheckRecord;
  using F = DeviceCheckFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("device_checks", false, 2)
          .Col("identity_id", &R::identity_id)
          .Col("device_id", &R::device_id)
          .Col("checked_at", &R::checked_at)
          .Where("identity_id", &F::identity_id)
          .References({"identity_id"}, "identities")
          .Build(
              [](const DeviceCheckKey& key) {
                return Row{key.identity_id.value(), key.device_id.value()};
              },
              [](const R& r) {
                return DeviceCheckKey{r.identity_id, r.device_id};
              });
  return schema;
}

template <>
const TableSchema<PoolUsageRecord>& SchemaOf<PoolUsageRecord>() {
  using R = PoolUsageRecord;
  using F = PoolUsageFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("pool_usage", false, 2)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("window_start", &R::window_start)
          .Col("peak_in_use", &R::peak_in_use)
          .Col("refusals", &R::refusals)
          .Where("entitlement_id", &F::entitlement_id)
          .References({"entitlement_id"}, "entitlements")
          .Build(
              [](const PoolUsageKey& key) {
                return Row{key.entitlement_id.value(),
                           absl::ToUnixMicros(key.window_start)};
              },
              [](const R& r) {
                return PoolUsageKey{r.entitlement_id, r.window_start};
              });
  return schema;
}

template <>
const TableSchema<ThrottleRecord>& SchemaOf<ThrottleRecord>() {
  using R = ThrottleRecord;
  using F = ThrottleFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("throttles", false, 2)
          .Col("kind", &R::kind)
          .Col("subject", &R::subject)
          .Col("events", &R::events)
          .Col("expires_at", &R::expires_at)
          .Where("kind", &F::kind)
          .Where("expires_at", &F::expired_before, CompareOp::kLt)
          .Build(
              [](const ThrottleKey& key) {
                return Row{Codec<ThrottleKind>::Encode(key.kind), key.subject};
              },
              [](const R& r) {
                return ThrottleKey{r.kind, r.subject};
              });
  return schema;
}

template <>
const TableSchema<ActivationRecord>& SchemaOf<ActivationRecord>() {
  using R = ActivationRecord;
  using F = ActivationFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("activations", true, 1)
          .Col("id", &R::id)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("organization_id", &R::organization_id)
          .Col("identity_id", &R::identity_id)
          .Col("device_id", &R::device_id)
          .Col("seat", &R::seat)
          .Col("since", &R::since)
          .Col("last_heartbeat", &R::last_heartbeat)
          .Col("expires_at", &R::expires_at)
          .Col("end_reason", &R::end_reason)
          .Col("ended_at", &R::ended_at)
          .Col("epoch", &R::epoch)
          .Where("id", &F::after, CompareOp::kGt)
          .Where("entitlement_id", &F::entitlement_id)
          .Where("organization_id", &F::organization_id)
          .Where("identity_id", &F::identity_id)
          .Where("end_reason", &F::end_reason)
          .Where("ended_at", &F::ended_since, CompareOp::kGe)
          .Where("ended_at", &F::ended_before, CompareOp::kLt)
          .Where("since", &F::started_before, CompareOp::kLt)
          .References({"entitlement_id"}, "entitlements")
          .References({"organization_id"}, "organizations")
          .References({"identity_id"}, "identities")
          .BuildWithIdKey();
  return schema;
}

template <>
const TableSchema<ServingClaimRecord>& SchemaOf<ServingClaimRecord>() {
  using R = ServingClaimRecord;
  using F = ServingClaimFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("serving_claims", false, 1)
          .Col("scope", &R::scope)
          .Col("holder", &R::holder)
          .Col("host", &R::host)
          .Col("process_id", &R::process_id)
          .Col("epoch", &R::epoch)
          .Col("claimed_at", &R::claimed_at)
          .Col("renewed_at", &R::renewed_at)
          .Col("lease_until", &R::lease_until)
          .Where("scope", &F::scope)
          .Build([](const ServingClaimKey& key) { return Row{key.scope}; },
                 [](const R& r) { return ServingClaimKey{r.scope}; });
  return schema;
}

template <>
const TableSchema<FeedEventRecord>& SchemaOf<FeedEventRecord>() {
  using R = FeedEventRecord;
  using F = FeedEventFilter;
  static const TableSchema<R>& schema =
      SchemaBuilder<R>("feed_events", true, 1)
          .Col("id", &R::id)
          .Col("at", &R::at)
          .Col("kind", &R::kind)
          .Col("organization_id", &R::organization_id)
          .Col("entitlement_id", &R::entitlement_id)
          .Col("identity_id", &R::identity_id)
          .Col("device_id", &R::device_id)
          .Col("reason", &R::reason)
          .Col("detail", &R::detail)
          .Where("id", &F::after, CompareOp::kGt)
          .Where("organization_id", &F::organization_id)
          .Where("kind", &F::kind)
          .Where("at", &F::before, CompareOp::kLt)
          .BuildWithIdKey();
  return schema;
}

const std::vector<const TableInfo*>& AllTables() {
  static const std::vector<const TableInfo*>& tables =
      *new std::vector<const TableInfo*>{
#define ENTITLE_TABLE_INFO(Record, accessor) &SchemaOf<Record>(),
          ENTITLE_FOR_EACH_RECORD(ENTITLE_TABLE_INFO)
#undef ENTITLE_TABLE_INFO
      };
  return tables;
}

}  // namespace entitle::internal

namespace entitle::internal {

absl::Status CheckPage(const PageRequest& page) {
  if (page.offset < 0 || page.limit < 1 ||
      page.limit > PageRequest::kMaxPageLimit) {
    return MakeError(absl::StatusCode::kInvalidArgument,
                     Reason::kInvalidArgument,
                     absl::StrCat("a page needs an offset of 0 or more and a "
                                  "limit from 1 to ",
                                  PageRequest::kMaxPageLimit, "; got offset ",
                                  page.offset, ", limit ", page.limit));
  }
  return absl::OkStatus();
}

absl::Status TransactionFinishedError() {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kTransactionFinished,
                   "the transaction was already committed or rolled back");
}

absl::Status ReadOnlyError() {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kReadOnlyTransaction,
                   "a read transaction cannot write");
}

absl::Status NoSavepointError() {
  return MakeError(absl::StatusCode::kFailedPrecondition,
                   Reason::kInvalidArgument,
                   "the transaction has no open savepoint");
}

std::string DescribeKey(const Row& key) {
  std::vector<std::string> parts;
  for (const Value& value : key) {
    if (const int64_t* i = std::get_if<int64_t>(&value)) {
      parts.push_back(absl::StrCat(*i));
    } else if (const std::string* s = std::get_if<std::string>(&value)) {
      parts.push_back(*s);
    } else {
      parts.push_back("null");
    }
  }
  return absl::StrJoin(parts, "/");
}

std::string DescribeColumns(const TableInfo& table,
                            const std::vector<int>& columns) {
  std::vector<absl::string_view> names;
  for (int column : columns) {
    names.push_back(AbslView(table.column_names[column]));
  }
  return absl::StrJoin(names, ", ");
}

absl::Status NotFoundError(const TableInfo& table, const Row& key) {
  return MakeError(absl::StatusCode::kNotFound, Reason::kNotFound,
                   absl::StrCat("no record ", DescribeKey(key), " in ",
                                AbslView(table.table)));
}

absl::Status DuplicateError(const TableInfo& table, std::string_view what) {
  return MakeError(
      absl::StatusCode::kAlreadyExists, Reason::kDuplicate,
      absl::StrCat("a record in ", AbslView(table.table), " with the same ",
                   AbslView(what), " already exists"));
}

absl::Status MissingReferenceError(const TableInfo& table,
                                   std::string_view parent_table) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kMissingReference,
      absl::StrCat("the ", AbslView(table.table), " record names a record in ",
                   AbslView(parent_table), " that does not exist"));
}

absl::Status StillReferencedError(const TableInfo& table, const Row& key,
                                  std::string_view child_table) {
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Reason::kStillReferenced,
      absl::StrCat("record ", DescribeKey(key), " in ", AbslView(table.table),
                   " is still named by records in ", AbslView(child_table)));
}

}  // namespace entitle::internal
