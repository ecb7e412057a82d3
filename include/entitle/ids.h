// Strong identifier types.
//
// Every record the store keeps is named by an `Id<Tag>`: a 64-bit integer that
// the store assigns on insert (positive, never reused within one store, even
// after the record is deleted, so a host that still holds an old id can never
// reach somebody else's record). A default-constructed id is invalid (0) and
// names nothing. Distinct tags make distinct types, so an `IdentityId` can
// never be passed where an `OrganizationId` is expected.
//
// Ids are plain values: copyable, comparable, hashable (Abseil and std), and
// thread-compatible.
#ifndef ENTITLE_IDS_H_
#define ENTITLE_IDS_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace entitle {

template <typename Tag>
class Id {
 public:
  constexpr Id() = default;
  constexpr explicit Id(int64_t value) : value_(value) {}

  // The raw value, for storage and display. 0 means "no id".
  constexpr int64_t value() const { return value_; }
  // True for ids a store can have assigned.
  constexpr bool valid() const { return value_ > 0; }

  friend constexpr auto operator<=>(Id, Id) = default;
  friend constexpr bool operator==(Id, Id) = default;

  template <typename H>
  friend H AbslHashValue(H h, Id id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, Id id) {
    return os << Tag::kName << '#' << id.value_;
  }

 private:
  int64_t value_ = 0;
};

#define ENTITLE_DEFINE_ID(Name, text)           \
  struct Name##Tag {                            \
    static constexpr const char kName[] = text; \
  };                                            \
  using Name = Id<Name##Tag>

ENTITLE_DEFINE_ID(IdentityId, "identity");
ENTITLE_DEFINE_ID(OrganizationId, "organization");
ENTITLE_DEFINE_ID(RoleId, "role");
ENTITLE_DEFINE_ID(GroupId, "group");
ENTITLE_DEFINE_ID(DomainId, "domain");
ENTITLE_DEFINE_ID(InvitationId, "invitation");
ENTITLE_DEFINE_ID(JoinRequestId, "join-request");
ENTITLE_DEFINE_ID(RequestLinkId, "request-link");
ENTITLE_DEFINE_ID(EntitlementId, "entitlement");
ENTITLE_DEFINE_ID(PoolGrantId, "pool-grant");
ENTITLE_DEFINE_ID(ProjectId, "project");
ENTITLE_DEFINE_ID(JobId, "job");
ENTITLE_DEFINE_ID(AuditId, "audit");
ENTITLE_DEFINE_ID(OutboxId, "outbox");
ENTITLE_DEFINE_ID(LinkTokenId, "link-token");
ENTITLE_DEFINE_ID(ActivationId, "activation");
ENTITLE_DEFINE_ID(FeedEventId, "feed-event");

#undef ENTITLE_DEFINE_ID

// A device as the host names it (a machine fingerprint, an installation id).
// entitle keeps it opaque; services refuse an empty one or one longer than
// kMaxLength bytes.
class DeviceId {
 public:
  static constexpr size_t kMaxLength = 256;
  DeviceId() = default;
  explicit DeviceId(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }

  friend auto operator<=>(const DeviceId&, const DeviceId&) = default;
  friend bool operator==(const DeviceId&, const DeviceId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const DeviceId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const DeviceId& id) {
    return os << "device:" << id.value_;
  }

 private:
  std::string value_;
};

}  // namespace entitle

template <typename Tag>
struct std::hash<entitle::Id<Tag>> {
  size_t operator()(entitle::Id<Tag> id) const noexcept {
    return std::hash<int64_t>()(id.value());
  }
};

#endif  // ENTITLE_IDS_H_
