// Who an operation runs on behalf of.
//
// Every operation that changes something takes an `Actor`, checks that it may,
// and records it in the audit trail (SPEC ORG-12). An actor is one of:
//   - an identity (`Actor::Identity(id)`): a signed-in person; what it may do
//     follows from its roles (ORG-7) and, for its own account, from being
//     itself;
//   - the operator (`Actor::Operator()`): the vendor running the service, who
//     creates organizations and their first administrator (ORG-1) and may do
//     any administrative operation;
//   - anonymous (`Actor::Anonymous()`): nobody signed in, for the operations
//     that need no account (registering, asking for a password reset); the
//     link or address itself is the credential there.
// The host authenticates; entitle trusts the actor it is given. Values are
// plain and thread-compatible.
#ifndef ENTITLE_ACTOR_H_
#define ENTITLE_ACTOR_H_

#include <optional>
#include <ostream>

#include "entitle/ids.h"

namespace entitle {

class Actor {
 public:
  static Actor Identity(IdentityId id) { return Actor(Kind::kIdentity, id); }
  static Actor Operator() { return Actor(Kind::kOperator, IdentityId()); }
  static Actor Anonymous() { return Actor(Kind::kAnonymous, IdentityId()); }

  bool is_identity() const { return kind_ == Kind::kIdentity; }
  bool is_operator() const { return kind_ == Kind::kOperator; }
  bool is_anonymous() const { return kind_ == Kind::kAnonymous; }
  // The identity, for an identity actor; invalid otherwise.
  IdentityId identity() const { return identity_; }
  // The identity as the audit trail records it: unset for the operator and
  // for anonymous actors.
  std::optional<IdentityId> audit_id() const {
    if (!is_identity()) return std::nullopt;
    return identity_;
  }

  friend bool operator==(const Actor&, const Actor&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Actor& actor) {
    if (actor.is_operator()) return os << "operator";
    if (actor.is_anonymous()) return os << "anonymous";
    return os << actor.identity_;
  }

 private:
  enum class Kind { kIdentity, kOperator, kAnonymous };
  Actor(Kind kind, IdentityId id) : kind_(kind), identity_(id) {}
  Kind kind_;
  IdentityId identity_;
};

}  // namespace entitle

#endif  // ENTITLE_ACTOR_H_
