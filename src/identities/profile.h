// Profile fields (SPEC ID-8, ID-12), shared by the services that create or edit
// identities.
#ifndef ENTITLE_SRC_IDENTITIES_PROFILE_H_
#define ENTITLE_SRC_IDENTITIES_PROFILE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "entitle/identities.h"
#include "entitle/options.h"
#include "entitle/records.h"

namespace entitle::internal {

// Upper-cased ISO 3166-1 alpha-2 code, or empty; nothing when malformed.
std::optional<std::string> NormalizeCountry(std::string_view country);

// A BCP 47-shaped tag, or empty; nothing when malformed.
std::optional<std::string> NormalizeLanguage(std::string_view language);

// ID-8: the tag itself when supported, else its primary language when
// supported, else English.
std::string EffectiveLanguage(const IdentityPolicy& policy,
                              std::string_view language);

// ID-12: the mandatory fields are the display name and the country.
bool ProfileComplete(const IdentityRecord& identity);

// Validates and applies the set fields of `update`, and recomputes
// `profile_complete`. kInvalidProfile for a malformed field; `record` is then
// unchanged in the fields that failed.
absl::Status ApplyProfile(const ProfileUpdate& update, IdentityRecord& record);

ProfileUpdate AsUpdate(const Profile& profile);

}  // namespace entitle::internal

#endif  // ENTITLE_SRC_IDENTITIES_PROFILE_H_
