#include "server/auth/acl.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"

namespace arca::auth {
namespace {

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Position of the first '+' or '*'; past the end for a literal pattern.
size_t FirstWildcard(const std::string& p) {
  size_t i = p.find_first_of("+*");
  return i == std::string::npos ? p.size() + 1 : i;
}

// The reporting order of docs/policies.md: true if `a` outranks `b`.
bool HigherPriority(const std::string& a, const std::string& b) {
  size_t wa = FirstWildcard(a), wb = FirstWildcard(b);
  if (wa != wb) return wa > wb;  // later first wildcard wins
  bool ga = !a.empty() && a.back() == '*', gb = !b.empty() && b.back() == '*';
  if (ga != gb) return !ga;  // a non-glob beats a glob
  auto pa = std::count(a.begin(), a.end(), '+');
  auto pb = std::count(b.begin(), b.end(), '+');
  if (pa != pb) return pa < pb;  // fewer '+' segments win
  if (a.size() != b.size()) return a.size() > b.size();  // longer wins
  return a > b;  // lexicographically greater wins (total order)
}

// Non-empty, no leading '/', no empty (except a trailing one), "." or ".."
// segment. Globs are prefix matches, so a ".." in a request path could
// otherwise reach outside the subtree a policy means.
bool IsCanonical(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view seg = path.substr(start, slash == std::string_view::npos
                                                  ? std::string_view::npos
                                                  : slash - start);
    if (slash == std::string_view::npos) {
      return seg != "." && seg != "..";  // may be empty: trailing '/'
    }
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = slash + 1;
  }
}

void Consider(uint32_t& best_entry, uint32_t& best_policy, uint32_t entry,
              uint32_t policy) {
  if (policy == UINT32_MAX) return;
  if (entry < best_entry || (entry == best_entry && policy < best_policy)) {
    best_entry = entry;
    best_policy = policy;
  }
}

}  // namespace

Acl::~Acl() = default;

absl::StatusOr<std::unique_ptr<Acl>> Acl::New(
    std::vector<std::pair<std::string, Policy>> policies) {
  std::unique_ptr<Acl> acl(new Acl());
  std::sort(policies.begin(), policies.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < policies.size(); ++i) {
    const auto& [name, policy] = policies[i];
    if (i > 0 && policies[i - 1].first == name) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy \"", name, "\" is listed twice"));
    }
    if (name == kRootPolicyName) {
      if (!google::protobuf::util::MessageDifferencer::Equals(policy,
                                                              RootPolicy())) {
        return absl::InvalidArgumentError(
            "the root policy must be the built-in one");
      }
      acl->root_ = true;
    } else {
      if (absl::Status s = ValidateName(name); !s.ok()) return s;
      if (absl::Status s = ValidatePolicy(policy); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy \"", name, "\": ", s.message()));
      }
    }
    acl->names_.push_back(name);
  }
  if (acl->root_) return acl;  // root decides everything by itself

  // One entry per distinct pattern; policies are visited in name order so
  // the first policy to grant a capability is the lowest-named one.
  absl::flat_hash_map<std::string, uint32_t> index;
  for (uint32_t pi = 0; pi < policies.size(); ++pi) {
    for (const auto& [pattern, rule] : policies[pi].second.path()) {
      auto [it, inserted] = index.try_emplace(pattern, acl->entries_.size());
      if (inserted) {
        Entry e;
        e.pattern = pattern;
        std::fill(std::begin(e.best), std::end(e.best), kNone);
        acl->entries_.push_back(std::move(e));
      }
      Entry& e = acl->entries_[it->second];
      if (e.first_policy == kNone) e.first_policy = pi;
      for (const std::string& name : rule.capabilities()) {
        auto cap = ParseCapability(name);  // validated above
        auto c = static_cast<size_t>(*cap);
        if (e.best[c] == kNone) e.best[c] = pi;
      }
    }
  }
  std::sort(acl->entries_.begin(), acl->entries_.end(),
            [](const Entry& a, const Entry& b) {
              return HigherPriority(a.pattern, b.pattern);
            });
  acl->chars_.emplace_back();
  acl->segs_.emplace_back();
  for (uint32_t i = 0; i < acl->entries_.size(); ++i) {
    acl->AddPattern(acl->entries_[i].pattern, i);
  }
  return acl;
}

void Acl::AddPattern(const std::string& pattern, uint32_t entry) {
  bool glob = pattern.back() == '*';
  bool plus = pattern.find('+') != std::string::npos;
  std::string_view body(pattern.data(), pattern.size() - (glob ? 1 : 0));
  if (!glob && !plus) {
    exact_.emplace(pattern, entry);
    return;
  }
  if (!plus) {
    uint32_t node = 0;
    for (char c : body) {
      auto& kids = chars_[node].kids;
      auto it = std::lower_bound(kids.begin(), kids.end(), c,
                                 [](const std::pair<char, uint32_t>& k,
                                    char v) { return k.first < v; });
      if (it != kids.end() && it->first == c) {
        node = it->second;
      } else {
        uint32_t child = chars_.size();
        kids.insert(it, {c, child});
        chars_.emplace_back();  // may move `kids`; not used after this
        node = child;
      }
    }
    chars_[node].entry = entry;
    return;
  }
  // '+' patterns: walk full segments; a glob's last piece is a partial one.
  uint32_t node = 0;
  size_t start = 0;
  while (true) {
    size_t slash = body.find('/', start);
    if (slash == std::string_view::npos && glob) {
      segs_[node].globs.emplace_back(std::string(body.substr(start)), entry);
      return;
    }
    std::string_view seg = body.substr(start, slash == std::string_view::npos
                                                  ? std::string_view::npos
                                                  : slash - start);
    uint32_t next;
    if (seg == "+") {
      next = segs_[node].plus;
      if (next == kNone) {
        next = segs_.size();
        segs_[node].plus = next;
        segs_.emplace_back();
      }
    } else {
      auto it = segs_[node].kids.find(AV(seg));
      if (it != segs_[node].kids.end()) {
        next = it->second;
      } else {
        next = segs_.size();
        segs_[node].kids.emplace(std::string(seg), next);
        segs_.emplace_back();
      }
    }
    node = next;
    if (slash == std::string_view::npos) {
      segs_[node].entry = entry;
      return;
    }
    start = slash + 1;
  }
}

void Acl::Collect(std::string_view path, Capability capability,
                  Match& m) const {
  const auto cap = static_cast<size_t>(capability);
  auto visit = [&](uint32_t i) {
    const Entry& e = entries_[i];
    Consider(m.deny_entry, m.deny_policy, i,
             e.best[static_cast<size_t>(Capability::kDeny)]);
    Consider(m.grant_entry, m.grant_policy, i, e.best[cap]);
    Consider(m.any_entry, m.any_policy, i, e.first_policy);
  };

  if (auto it = exact_.find(AV(path)); it != exact_.end()) visit(it->second);

  uint32_t node = 0;
  if (chars_[0].entry != kNone) visit(chars_[0].entry);
  for (char c : path) {
    const auto& kids = chars_[node].kids;
    if (kids.empty()) break;
    auto it = std::lower_bound(
        kids.begin(), kids.end(), c,
        [](const std::pair<char, uint32_t>& k, char v) { return k.first < v; });
    if (it == kids.end() || it->first != c) break;
    node = it->second;
    if (chars_[node].entry != kNone) visit(chars_[node].entry);
  }

  if (segs_.size() == 1) return;  // no '+' patterns
  // Iterative, so a policy with thousands of segments cannot exhaust the
  // stack. Each trie node is reached at most once per path.
  struct Frame {
    uint32_t node;
    size_t offset;  // where the next segment starts
    bool at_end;    // the path is fully consumed
  };
  absl::InlinedVector<Frame, 16> stack;
  stack.push_back({0, 0, false});
  while (!stack.empty()) {
    Frame f = stack.back();
    stack.pop_back();
    const SegNode& n = segs_[f.node];
    if (f.at_end) {
      if (n.entry != kNone) visit(n.entry);
      continue;
    }
    std::string_view rest = path.substr(f.offset);
    for (const auto& [prefix, entry] : n.globs) {
      if (rest.substr(0, prefix.size()) == prefix) visit(entry);
    }
    size_t slash = rest.find('/');
    bool last = slash == std::string_view::npos;
    std::string_view seg = last ? rest : rest.substr(0, slash);
    size_t next = last ? path.size() : f.offset + slash + 1;
    if (!n.kids.empty()) {
      if (auto it = n.kids.find(AV(seg)); it != n.kids.end()) {
        stack.push_back({it->second, next, last});
      }
    }
    if (n.plus != kNone && !seg.empty()) stack.push_back({n.plus, next, last});
  }
}

bool Acl::Allowed(std::string_view path, Capability capability) const {
  if (capability == Capability::kDeny ||
      static_cast<size_t>(capability) >= kNumCapabilities) {
    return false;
  }
  if (!IsCanonical(path)) return false;
  if (root_) return true;
  Match m;
  Collect(path, capability, m);
  return m.deny_entry == kNone && m.grant_entry != kNone;
}

Decision Acl::Check(std::string_view path, Capability capability) const {
  Decision d;
  if (capability == Capability::kDeny ||
      static_cast<size_t>(capability) >= kNumCapabilities) {
    d.reason = "deny is not a capability a request can ask for";
    return d;
  }
  if (!IsCanonical(path)) {
    d.reason =
        "path is not canonical (empty, leading '/', or an empty, '.' or '..' "
        "segment)";
    return d;
  }
  const std::string cap_name(CapabilityName(capability));
  if (root_) {
    d.allowed = true;
    d.policy = std::string(kRootPolicyName);
    d.pattern = "*";
    d.reason = "allowed by root policy";
    return d;
  }
  Match m;
  Collect(path, capability, m);
  if (m.deny_entry != kNone) {
    d.policy = names_[m.deny_policy];
    d.pattern = entries_[m.deny_entry].pattern;
    d.reason =
        absl::StrCat("denied by deny in policy ", d.policy, " on ", d.pattern);
  } else if (m.grant_entry != kNone) {
    d.allowed = true;
    d.policy = names_[m.grant_policy];
    d.pattern = entries_[m.grant_entry].pattern;
    d.reason = absl::StrCat("allowed by ", cap_name, " in policy ", d.policy,
                            " on ", d.pattern);
  } else if (m.any_entry != kNone) {
    d.policy = names_[m.any_policy];
    d.pattern = entries_[m.any_entry].pattern;
    d.reason =
        absl::StrCat("no matching rule grants ", cap_name, " (closest: policy ",
                     d.policy, " on ", d.pattern, ")");
  } else {
    d.reason = "no rule matches";
  }
  return d;
}

}  // namespace arca::auth
