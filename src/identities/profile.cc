#include "identities/profile.h"

#include <string_view>

#include "absl/strings/ascii.h"
#include "base/names.h"
#include "base/string_view.h"
#include "entitle/status.h"

namespace entitle::internal {
namespace {

absl::Status InvalidProfile(std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, Reason::kInvalidProfile,
                   message);
}

}  // namespace

// Upper-cased ISO 3166-1 alpha-2 code, or empty; nothing when malformed.
std::optional<std::string> NormalizeCountry(std::string_view country) {
  const std::string_view trimmed =
      StdView(absl::StripAsciiWhitespace(AbslView(country)));
  if (trimmed.empty()) return std::string();
  if (trimmed.size() != 2 || !absl::ascii_isalpha(trimmed[0]) ||
      !absl::ascii_isalpha(trimmed[1])) {
    return std::nullopt;
  }
  return absl::AsciiStrToUpper(AbslView(trimmed));
}

// A BCP 47-shaped tag (letters 2-3, then subtags of 1-8 letters or digits), or
// empty; nothing when malformed.
std::optional<std::string> NormalizeLanguage(std::string_view language) {
  const std::string_view trimmed =
      StdView(absl::StripAsciiWhitespace(AbslView(language)));
  if (trimmed.empty()) return std::string();
  size_t start = 0;
  bool first = true;
  while (start <= trimmed.size()) {
    size_t end = trimmed.find('-', start);
    if (end == std::string_view::npos) end = trimmed.size();
    const std::string_view part = trimmed.substr(start, end - start);
    if (first ? (part.size() < 2 || part.size() > 3)
              : (part.empty() || part.size() > 8)) {
      return std::nullopt;
    }
    for (const char c : part) {
      if (first ? !absl::ascii_isalpha(c) : !absl::ascii_isalnum(c)) {
        return std::nullopt;
      }
    }
    first = false;
    start = end + 1;
  }
  return std::string(trimmed);
}

// ID-8: the tag itself when supported, else its primary language when
// supported, else English.
std::string EffectiveLanguage(const IdentityPolicy& policy,
                              std::string_view language) {
  const std::string tag = absl::AsciiStrToLower(AbslView(language));
  const std::string primary = tag.substr(0, tag.find('-'));
  for (const std::string& candidate : {tag, primary}) {
    if (candidate.empty()) continue;
    for (const std::string& supported : policy.supported_languages) {
      if (absl::AsciiStrToLower(supported) == candidate) return supported;
    }
  }
  return "en";
}

bool ProfileComplete(const IdentityRecord& identity) {
  return !identity.display_name.empty() && !identity.country.empty();
}

absl::Status ApplyProfile(const ProfileUpdate& update, IdentityRecord& record) {
  if (update.display_name.has_value()) {
    // SEC-6 (base/names.h); the empty name clears it.
    absl::StatusOr<std::string> name =
        CheckName(StdView(absl::StripAsciiWhitespace(*update.display_name)),
                  "name", NameRules{.allow_empty = true});
    if (!name.ok()) return name.status();
    record.display_name = *std::move(name);
  }
  if (update.country.has_value()) {
    std::optional<std::string> country = NormalizeCountry(*update.country);
    if (!country.has_value()) {
      return InvalidProfile(
          "The country must be a two-letter ISO 3166 code such as FI or DE.");
    }
    record.country = *std::move(country);
  }
  if (update.language.has_value()) {
    std::optional<std::string> language = NormalizeLanguage(*update.language);
    if (!language.has_value()) {
      return InvalidProfile(
          "The language must be a language tag such as en, de or pt-BR.");
    }
    record.language = *std::move(language);
  }
  record.profile_complete = ProfileComplete(record);
  return absl::OkStatus();
}

ProfileUpdate AsUpdate(const Profile& profile) {
  return ProfileUpdate{profile.display_name, profile.country, profile.language};
}

}  // namespace entitle::internal
